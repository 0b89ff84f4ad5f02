"""Tuning jobs on the emulator for the triggerer benchmarks: created up front, their data loaded."""

from __future__ import annotations

import asyncio
import time

from benchmarks.common import note

CREATE_CONCURRENCY = 16
RUN_LABEL = {"benchmark": "triggerer-capacity"}


async def create_jobs(uri: str, durations: list[float]) -> list[tuple[str, float]]:
    """Create one job per duration (seconds), longest first; return (name, end epoch) pairs.

    A client of its own, closed afterwards: creating is not what is measured.
    """
    import warnings

    from airflow_tuning.backends.vertex.request import sdk_arguments
    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from airflow_tuning.jobs.request import TuningRequest

    aclient = GeminiTuningHook().get_async_genai_client()
    semaphore = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create(seconds: float) -> tuple[str, float]:
        labels = {**RUN_LABEL, "emulator-duration-ms": str(int(seconds * 1000))}
        request = TuningRequest.build(base_model="gemini-2.5-flash", training_dataset_uri=uri, labels=labels)
        async with semaphore:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*tuning implementation is experimental")
                job = await aclient.tunings.tune(**sdk_arguments(request))
        return job.name, job.create_time.timestamp() + seconds

    try:
        return await asyncio.gather(*(create(s) for s in sorted(durations, reverse=True)))
    finally:
        await aclient.aclose()


async def load_job_data(jobs: list[tuple[str, float]]) -> float:
    """Poll every started job once, untimed (the emulator reads a job's data on its first poll); return the
    seconds it took. Before a real restart the jobs were running and polled already."""
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    await asyncio.sleep(2.5)  # past every job's PENDING time
    aclient = GeminiTuningHook().get_async_genai_client()
    semaphore = asyncio.Semaphore(CREATE_CONCURRENCY)
    started = time.perf_counter()

    async def poll(name: str) -> None:
        async with semaphore:
            await aclient.tunings.get(name=name)

    try:
        await asyncio.gather(*(poll(name) for name, _ in jobs))
    finally:
        await aclient.aclose()
    elapsed = time.perf_counter() - started
    note(f"phase 2: the emulator loaded {len(jobs)} jobs' data in {elapsed:.1f} s")
    return elapsed
