"""``make demo`` is quiet: the story on the terminal, everything else (loggers set up later too) in a log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import logging, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from demo import run_demo
run_demo.quiet(Path({log!r}))
logging.basicConfig(level=logging.INFO)  # like Airflow's logging, configured after the switch
logging.getLogger("airflow.task").info("a task log line")
print("a stray print")
run_demo.tell("==> the story")
"""


def test_quiet_keeps_the_story_on_the_terminal_and_the_rest_in_the_log(tmp_path: Path):
    log = tmp_path / "demo.log"
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(repo=str(REPO), log=str(log))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "==> the story\n" and result.stderr == ""
    logged = log.read_text()
    assert "a task log line" in logged and "a stray print" in logged and "==> the story" in logged
    readme = (REPO / "README.md").read_text()
    assert "artifacts/demo/demo.log" in readme
