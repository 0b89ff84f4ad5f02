"""Throughput of the emulator's tuning-job GET, the call every waiting sensor and trigger makes.

Starts the emulator as a subprocess (``python -m airflow_tuning.emulator``), creates one job, then sends a
fixed number of GETs for it from this process over concurrent keep-alive connections, and prints one
JSON line: {"name", "value", "unit", "target", "baseline"}.

    python -m benchmarks.emulator_throughput [--requests 20000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.parse

import httptools
import httpx

from benchmarks.common import emit, emulator_process, load_average

TARGET = 1000.0


class _Response:
    """Collects one HTTP/1.1 response from httptools' parser callbacks."""

    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True


async def _connection(host: str, port: int, request: bytes, count: int) -> int:
    """Send ``count`` requests one after another on one keep-alive connection; return the failures."""
    reader, writer = await asyncio.open_connection(host, port)
    failures = 0
    try:
        for _ in range(count):
            writer.write(request)
            response = _Response()
            parser = httptools.HttpResponseParser(response)
            while not response.done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("the emulator closed the connection")
                parser.feed_data(data)
            failures += parser.get_status_code() != 200
    finally:
        writer.close()
    return failures


async def hammer(url: str, total: int, concurrency: int) -> float:
    """GET ``url`` ``total`` times over ``concurrency`` keep-alive connections; return requests per second.

    The client is httptools' parser on asyncio streams: far cheaper per request than a full HTTP client,
    so the figure measures the emulator, not the load generator.
    """
    parts = urllib.parse.urlsplit(url)
    request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               "Accept: application/json\r\n\r\n").encode()
    per_connection = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    await asyncio.gather(*(_connection(parts.hostname, parts.port, request, 20) for _ in range(concurrency)))
    started = time.perf_counter()
    failures = await asyncio.gather(*(_connection(parts.hostname, parts.port, request, n)
                                      for n in per_connection))
    elapsed = time.perf_counter() - started
    if sum(failures):
        raise RuntimeError(f"{sum(failures)} of {total} GETs did not answer 200")
    return total / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run
    with emulator_process(job_duration=600) as emu:
        parent = f"{emu.api_url}/v1beta1/projects/emulator-project/locations/us-central1"
        body = {"baseModel": "gemini-2.5-flash",
                "supervisedTuningSpec": {"trainingDatasetUri": "gs://bench/train.jsonl"}}
        job = httpx.post(f"{parent}/tuningJobs", json=body, timeout=30).json()
        rate = run(hammer(f"{emu.api_url}/v1beta1/{job['name']}", args.requests, args.concurrency))
    emit("emulator_job_get_throughput", round(rate, 1), "req/s", f">= {TARGET:g}", None,
         requests=args.requests, concurrency=args.concurrency, load_average_1m=load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
