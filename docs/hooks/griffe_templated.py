"""Griffe extension: add each operator's templated fields, read from the class itself, to its reference.

``template_fields`` is the one list Airflow renders; reading it from the imported class (inherited values
included) keeps the page exact without repeating the list in every docstring.
"""

from __future__ import annotations

import importlib
from typing import Any

import griffe


class TemplatedFields(griffe.Extension):
    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        try:
            runtime = getattr(importlib.import_module(cls.module.path), cls.name)
        except (ImportError, AttributeError):
            return
        fields = getattr(runtime, "template_fields", None)
        if not fields or cls.docstring is None:
            return
        names = ", ".join(f"`{name}`" for name in fields)
        cls.docstring.value += (
            f"\n\nTemplated fields (Jinja, rendered before the task runs): {names}."
        )
