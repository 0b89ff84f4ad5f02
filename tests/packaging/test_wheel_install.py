"""The built wheel, installed alone into a fresh virtualenv with constraints.txt, works as a user gets it.

Nothing here imports the source tree: every check runs the fresh virtualenv's own console scripts from a
directory outside the repository, so missing modules or package data in the wheel fail the test.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.packaging.resolve import CONSTRAINTS, REPO, uv

pytestmark = pytest.mark.registry


class Installed:
    """A fresh virtualenv holding only the wheel (with its emulator extra) and what it pulls in."""

    def __init__(self, root: Path, dist: Path, build_log: str) -> None:
        self.root = root
        self.dist = dist
        self.build_log = build_log
        self.bin = root / "venv" / "bin"
        self.home = root / "airflow-home"
        self.work = root / "work"

    @property
    def wheel(self) -> Path:
        return next(self.dist.glob("airflow_tuning-*.whl"))

    def env(self) -> dict[str, str]:
        """The user's environment: no repository on the path, no test session's Airflow settings."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV", "GOOGLE_APPLICATION"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", AIRFLOW_HOME=str(self.home),
                   AIRFLOW__CORE__LOAD_EXAMPLES="False", NO_GCE_CHECK="True")
        return env

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=self.work, env=self.env(), capture_output=True, text=True,
                              timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    dist = root / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(dist), str(REPO)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    inst = Installed(root, dist, built.stdout + built.stderr)
    inst.home.mkdir()
    inst.work.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    # uv installs what `pip install -c constraints.txt "<wheel>[emulator]"` installs, in a fraction of the time.
    install = inst.run(uv(), "pip", "install", "--python", str(inst.bin / "python"), "-c", str(CONSTRAINTS),
                       f"airflow-tuning[emulator] @ {inst.wheel.as_uri()}", timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    return inst


def test_build_makes_sdist_and_wheel_without_license_deprecation(installed):
    assert sorted(p.suffix for p in installed.dist.iterdir()) == [".gz", ".whl"]
    warned = [line for line in installed.build_log.lower().splitlines() if "licen" in line and "deprecat" in line]
    assert not warned, installed.build_log
    with zipfile.ZipFile(installed.wheel) as whl:
        names = whl.namelist()
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "airflow_tuning/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "dags/", "demo/", "benchmarks/"))]


def test_twine_check_passes(installed):
    twine = Path(sys.executable).with_name("twine")
    result = subprocess.run([str(twine), "check", "--strict", *map(str, installed.dist.iterdir())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_package_comes_from_the_fresh_virtualenv(installed):
    result = installed.run(str(installed.bin / "python"), "-c",
                           "import airflow_tuning, pathlib; print(pathlib.Path(airflow_tuning.__file__).parent)")
    assert result.returncode == 0, result.stderr
    package = Path(result.stdout.strip())
    assert package.is_relative_to(installed.root / "venv"), package
    assert (package / "py.typed").is_file()


def test_airflow_lists_the_provider_and_its_connection_type(installed):
    providers = installed.run(str(installed.bin / "airflow"), "providers", "list", "--output", "json")
    assert providers.returncode == 0, providers.stderr
    listed = {p["package_name"]: p for p in json.loads(providers.stdout)}
    assert "airflow-tuning" in listed, sorted(listed)

    hooks = installed.run(str(installed.bin / "airflow"), "providers", "hooks", "--output", "json")
    assert hooks.returncode == 0, hooks.stderr
    by_type = {h["connection_type"]: h for h in json.loads(hooks.stdout)}
    assert "gemini_tuning" in by_type, sorted(by_type)
    assert by_type["gemini_tuning"]["package_name"] == "airflow-tuning"


def test_validate_runs_from_the_installed_wheel(installed):
    good = installed.work / "train.jsonl"
    good.write_text("\n".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"question {i}"}]},
        {"role": "model", "parts": [{"text": f"answer {i}"}]}]}) for i in range(3)) + "\n")
    bad = installed.work / "bad.jsonl"
    bad.write_text(good.read_text() + "{not json\n")

    ok = installed.run(str(installed.bin / "airflow-tuning"), "validate", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.rstrip().endswith("OK")

    invalid = installed.run(str(installed.bin / "airflow-tuning"), "validate", str(bad))
    assert invalid.returncode == 1, invalid.stdout + invalid.stderr
    assert f"{bad}:4:" in invalid.stdout


def test_emulator_starts_on_loopback_and_stops(installed):
    proc = subprocess.Popen([str(installed.bin / "airflow-tuning"), "emulator", "--port", "0", "--storage-port", "0"],
                            cwd=installed.work, env=installed.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        while not seen or not seen[-1].startswith("Serving until"):
            seen.append(lines.get(timeout=120).rstrip())
        urls = dict(re.findall(r"^(Vertex AI API|Cloud Storage): (\S+)$", "\n".join(seen), re.M))
        assert set(urls) == {"Vertex AI API", "Cloud Storage"}, seen
        assert all(url.startswith("http://127.0.0.1:") for url in urls.values()), urls
        with urllib.request.urlopen(urls["Vertex AI API"] + "/_emulator/health", timeout=30) as resp:  # noqa: S310
            assert resp.status == 200
    finally:
        proc.terminate()
        code = proc.wait(timeout=60)
    assert code == 0, seen
