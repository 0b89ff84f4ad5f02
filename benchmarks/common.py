"""What every benchmark script shares: the JSON-line output, process measurements, the emulator process,
an isolated Airflow home, and the machine description printed next to the figures.

Output contract: each figure is one JSON object on its own stdout line with at least
``{"name", "value", "unit", "target", "baseline"}``; ``target`` is a string such as ``"<= 50"`` (or None
when there is none) so that ``benchmarks.run_all`` can tell whether it was met. Anything else a script has
to say goes to stderr.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_BUCKET = "bench-data"
TRAIN_OBJECT = "train.jsonl"
EMULATOR_START_TIMEOUT = 60.0


# -- output -----------------------------------------------------------------------------------------------
def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4 if abs(value) < 1 else 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def emit(name: str, value: Any, unit: str, target: str | bool | None, baseline: Any, **extra: Any) -> dict:
    """Print one benchmark figure as a JSON line on stdout (flushed: run_all reads it as it comes)."""
    line = {"name": name, "value": value, "unit": unit, "target": target, "baseline": baseline, **extra}
    line = _rounded(line)
    print(json.dumps(line), flush=True)
    return line


def note(message: str) -> None:
    """Progress for the human watching: stderr, so stdout stays JSON lines only."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send whatever is written to file descriptor 1 (Airflow's and structlog's log output included) to
    stderr while the block runs, so that stdout carries only the JSON lines."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# -- machine and process measurements ----------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """The facts a reader needs to compare figures between machines, read now."""
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu_model": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def load_average() -> float:
    """The 1-minute load average: other work on the machine skews every figure taken alongside it."""
    return round(os.getloadavg()[0], 2)


def rss_mb() -> float:
    """Resident set size of this process now, in MB (1e6 bytes)."""
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def cpu_seconds(pid: int | None = None) -> float:
    """User plus system CPU time this process (or process ``pid``, e.g. a server started for the benchmark)
    has used."""
    if pid is not None:
        import psutil

        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PeakRss:
    """Samples this process's RSS from a thread while the block runs; ``peak`` is the largest sample.

    A thread rather than ``ru_maxrss`` because ``ru_maxrss`` is the peak of the whole process life, which
    may predate the measured block.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def _sample(self) -> None:
        import psutil

        process = psutil.Process()
        while True:
            self.peak = max(self.peak, process.memory_info().rss / 1e6)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


# -- the emulator, in its own process ----------------------------------------------------------------------
@contextlib.contextmanager
def emulator_process(job_duration: float = 10.0, buckets: tuple[str, ...] = ()) -> Iterator[Any]:
    """``python -m airflow_tuning.emulator`` on free loopback ports, driven through its admin routes.

    A separate process so that its CPU and memory are not counted as the measured code's, and so that it
    does not compete with it for this interpreter's lock (a real Vertex AI endpoint is remote, too). Yields
    an ``Emulator`` handle whose admin methods (stats, jobs, configure, create_bucket...) work over HTTP;
    its ``process`` attribute is the ``Popen``.
    """
    from airflow_tuning.emulator import Emulator

    command = [sys.executable, "-u", "-m", "airflow_tuning.emulator", "--port", "0", "--storage-port", "0",
               "--job-duration", str(job_duration)]
    for bucket in buckets:
        command += ["--bucket", bucket]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryFile(mode="w+", prefix="emulator-stderr-") as errors:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            urls = _read_urls(proc, errors)
            # Keep reading its stdout, so that the emulator never blocks on a full pipe.
            threading.Thread(target=proc.stdout.read, name="emulator-stdout", daemon=True).start()
            emu = Emulator(job_duration=job_duration)
            emu.api_url, emu.storage_url = urls["Vertex AI API"], urls["Cloud Storage"]
            emu.process = proc  # type: ignore[attr-defined]
            yield emu
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _read_urls(proc: subprocess.Popen[str], errors: Any) -> dict[str, str]:
    urls: dict[str, str] = {}
    timer = threading.Timer(EMULATOR_START_TIMEOUT, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, ""):
            label, _, url = line.partition(": ")
            if label in ("Vertex AI API", "Cloud Storage"):
                urls[label] = url.strip()
            if len(urls) == 2:
                return urls
    finally:
        timer.cancel()
    proc.wait()
    errors.seek(0)
    raise RuntimeError(f"the emulator process did not start (exit {proc.returncode}): {errors.read()[-2000:]}")


def upload_training_data(emu: Any, bucket: str = BENCH_BUCKET, examples: int = 20) -> str:
    """A small valid training file in the emulated GCS (a job with missing data would end FAILED)."""
    lines = []
    for i in range(examples):
        turns = [{"role": "user", "parts": [{"text": f"What is {i} + {i}?"}]},
                 {"role": "model", "parts": [{"text": str(2 * i)}]}]
        lines.append(json.dumps({"contents": turns}))
    emu.create_bucket(bucket).blob(TRAIN_OBJECT).upload_from_string("\n".join(lines) + "\n",
                                                                    content_type="application/jsonl")
    return f"gs://{bucket}/{TRAIN_OBJECT}"


# -- an isolated Airflow installation ---------------------------------------------------------------------
def isolated_airflow_home(dags_folder: str | None = None) -> Path:
    """Point this process (and its children) at a fresh AIRFLOW_HOME with SQLite and no example DAGs.

    Call before anything imports Airflow. No Google credentials are looked up: benchmarks talk to loopback
    only. The directory is removed when the process exits.
    """
    home = Path(tempfile.mkdtemp(prefix="airflow-tuning-bench-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = dags_folder or str(home / "dags")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = os.environ.get("BENCH_AIRFLOW_LOG_LEVEL", "WARNING")
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(home / "no-adc.json")
    os.environ["NO_GCE_CHECK"] = "True"
    os.environ.pop("GOOGLE_CLOUD_PROJECT", None)
    return home
