"""Run uv's resolver (pinned in the dev extra) the way `make constraints` does, against constraints.txt."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
# The platform constraints.txt is resolved for (see the Makefile's `constraints` target).
PLATFORM = ("--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28")


def uv() -> str:
    """The uv of this virtualenv: it is part of the dev extra, so its absence is a broken venv."""
    exe = Path(sys.executable).with_name("uv")
    assert exe.exists(), f"{exe} missing: uv belongs to the dev extra; run `make venv`"
    return str(exe)


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines as {normalized name: version}; comments and blank lines skipped."""
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def compile_with(requirements: list[str], constraints: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Resolve ``requirements`` under ``constraints``; the result's stdout is the pinned set."""
    req_file = workdir / "requirements.in"
    req_file.write_text("\n".join(requirements) + "\n")
    return subprocess.run(
        [uv(), "pip", "compile", *PLATFORM, "--no-header", "--no-annotate", "-c", str(constraints), str(req_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
