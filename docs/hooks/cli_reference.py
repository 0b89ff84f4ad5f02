"""MkDocs hook: replace ``<!-- cli: COMMAND -->`` with that command's ``--help``, generated at build time.

The help text comes from the argparse parsers the commands themselves use, so the page cannot drift from
the code; an unknown command name fails the (strict) build.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

MARKER = re.compile(r"<!-- cli: ([a-z -]+) -->")


def _parsers() -> dict[str, Any]:
    from airflow_tuning.dataset.cli import build_parser as validate_parser
    from airflow_tuning.emulator.__main__ import build_parser as emulator_parser
    from airflow_tuning.emulator.upload import build_parser as upload_parser
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from demo.local_airflow import build_parser as stack_parser

    return {"validate": validate_parser, "emulator": emulator_parser, "emulator upload": upload_parser,
            "make airflow": stack_parser}


def _top_level() -> str:
    from airflow_tuning.cli import COMMANDS

    lines = ["usage: airflow-tuning {" + ",".join(COMMANDS) + "} ...", ""]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if "<!-- cli:" not in markdown:
        return markdown
    os.environ["COLUMNS"] = "110"  # argparse wraps to the terminal width; pin it for a stable page
    parsers = _parsers()

    def render(match: re.Match[str]) -> str:
        name = match[1].strip()
        if name == "airflow-tuning":
            text = _top_level()
        elif name in parsers:
            text = parsers[name]().format_help()
        else:
            raise ValueError(f"docs: no command {name!r} for a <!-- cli: ... --> marker (known: {sorted(parsers)})")
        return f"```text\n{text.rstrip()}\n```"

    return MARKER.sub(render, markdown)
