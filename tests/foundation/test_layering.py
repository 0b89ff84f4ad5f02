"""The package's shape, enforced: layers import only downwards, the core never imports Airflow, nothing
imports the emulator, the root stays small and no file grows past the limit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_tuning"
MAX_ROOT_MODULES = 6
MAX_LINES = 400
#: Layer of each top-level part of the package; a module may import only its own layer or lower ones.
LAYERS = {
    "common": 0,
    "jobs": 1,
    "dataset": 1,
    "evaluation": 1,
    "backends": 2,
    "hooks": 3,
    "links": 3,
    "triggers": 4,
    "tasks": 5,
    "operators": 6,
    "sensors": 6,
    "cli": 7,
    "get_provider_info": 7,
    "__init__": 7,
}
CORE = ("common", "jobs", "dataset", "evaluation", "backends")
#: Shells of the same layer that must not lean on each other.
SIBLINGS_APART = {("sensors", "operators"), ("operators", "sensors")}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every imported module name (module level and inside functions), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{line}"


def test_at_most_six_modules_at_the_package_root():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_no_file_over_the_line_limit():
    long = {_where(p, 0): n for p in _modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_every_part_has_a_layer():
    assert {_part(p) for p in _modules()} - {"emulator"} <= set(LAYERS)


@pytest.mark.parametrize("path", [p for p in _modules() if _part(p) in CORE], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_never_imports_airflow(path):
    bad = [_where(path, line) + f" {name}" for line, name in _imports(path) if name.split(".")[0] == "airflow"]
    assert not bad, bad


def test_nothing_imports_the_emulator():
    bad = [
        _where(path, line)
        for path in _modules()
        if _part(path) != "emulator"
        for line, name in _imports(path)
        if name.startswith("airflow_tuning.emulator")
    ]
    assert not bad, bad


def test_dependencies_point_down():
    bad = []
    for path in _modules():
        part = _part(path)
        if part == "emulator":
            continue
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] != "airflow_tuning" or len(parts) < 2 or parts[1] not in LAYERS:
                continue
            target = parts[1]
            if LAYERS[target] > LAYERS[part] or (part, target) in SIBLINGS_APART:
                bad.append(f"{_where(path, line)}: {part} imports {name}")
    assert not bad, "\n".join(bad)


def test_only_an_adapter_knows_its_service():
    """Outside backends/, no code names a service: the choice is an object carried from where it enters."""
    bad = []
    for path in _modules():
        if _part(path) in ("backends", "emulator"):
            continue
        for line, name in _imports(path):
            if name.startswith(("airflow_tuning.backends.vertex", "airflow_tuning.backends.gemini_api")):
                if _part(path) not in ("hooks", "operators"):
                    bad.append(f"{_where(path, line)}: {name}")
    assert not bad, bad
