"""Packaging checks: they ask PyPI (resolves, a wheel installed into a fresh virtualenv)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "registry: reaches the package registry (PyPI) to resolve or install")
