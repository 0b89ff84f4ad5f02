"""Evaluation throughput: 1,000 examples against an emulated tuned endpoint answering in 200 ms.

Ideal wall time at concurrency 32 is N x latency / concurrency = 6.25 s; the target is 1.2x that. A bare
httpx client sending the same requests is timed too: on a shared machine it shows how much of the gap to
the ideal is the machine's rather than the evaluation's. The
sequential baseline is estimated from 20 sequential calls, extrapolated to N (a full sequential run would
take over three minutes and measures nothing more). A second run injects 429s into 10% of generateContent
calls: it must finish with exactly the same metrics, the retries coming from the connection's retry policy.

The emulator runs in its own process, as a real endpoint is remote: in-process, its request handling
would compete with the client for the interpreter lock and the benchmark would measure that instead.

Run: ``python -m benchmarks.evaluation_speed``; prints JSON lines {"name","value","unit","target","baseline"}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

from airflow_tuning.emulator import Emulator
from benchmarks.common import emit, emulator_process

N = 1000
LATENCY = 0.2
CONCURRENCY = 32
SEQUENTIAL_SAMPLE = 20
BUCKET = "bench-evaluation"
IDEAL = N * LATENCY / CONCURRENCY
log = logging.getLogger("benchmarks.evaluation_speed")


def _line(question: str, answer: str) -> str:
    turns = [{"role": "user", "parts": [{"text": question}]}, {"role": "model", "parts": [{"text": answer}]}]
    return json.dumps({"contents": turns})


def _data() -> tuple[str, str]:
    train, evaluation = [], []
    for i in range(N):
        answer = f"Order {i} ships from depot {i % 13} in {i % 7 + 1} days."
        train.append(_line(f"When does order number {i} ship?", answer))
        evaluation.append(_line(f"How long until order number {i} ships?", answer))
    return "\n".join(train) + "\n", "\n".join(evaluation) + "\n"


def _tune(emu: Emulator) -> str:
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook

    train, evaluation = _data()
    bucket = emu.create_bucket(BUCKET)
    bucket.blob("train.jsonl").upload_from_string(train)
    bucket.blob("eval.jsonl").upload_from_string(evaluation)
    client = GeminiTuningHook().get_genai_client()
    job = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=f"gs://{BUCKET}/train.jsonl"),
        config=types.CreateTuningJobConfig(epoch_count=1, labels={"emulator-duration-ms": "1500"}),
    )
    while not job.has_ended:
        time.sleep(0.1)
        job = client.tunings.get(name=job.name)
    if job.state.name != "JOB_STATE_SUCCEEDED":
        raise RuntimeError(f"tuning failed: {job.error}")
    return job.tuned_model.endpoint


def _evaluate(endpoint: str, examples: list, concurrency: int) -> tuple[float, dict[str, float], float]:
    """Wall seconds of generation plus scoring (what the operator does between reading and reporting),
    the metrics, and the CPU seconds the client spent generating."""
    from airflow_tuning.evaluation.generation import GenerationRequest, generate_all
    from airflow_tuning.evaluation.metrics import DEFAULT_METRICS, resolve_metrics, score
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    aio = hook.get_async_genai_client()
    requests = [GenerationRequest(endpoint, ex) for ex in examples]

    async def run() -> list[str]:
        try:
            return await generate_all(
                aio, requests, source="bench", max_concurrency=concurrency, log=log, progress_interval=2.0,
                retry=hook.settings.retry,
            )
        finally:
            await aio.aclose()

    started, cpu = time.perf_counter(), time.process_time()
    predictions = asyncio.run(run())
    generation_cpu = time.process_time() - cpu
    metrics = score(predictions, [ex.reference for ex in examples], resolve_metrics(DEFAULT_METRICS)).corpus
    return time.perf_counter() - started, metrics, generation_cpu


def _http_floor(emu: Emulator, endpoint: str, examples: list, concurrency: int) -> float:
    """Wall seconds for the same POSTs with a bare httpx client: what this machine allows right now."""
    import httpx

    url = f"{emu.api_url}/v1beta1/{endpoint}:generateContent"

    async def run() -> None:
        semaphore = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=60) as client:

            async def one(example: object) -> None:
                async with semaphore:
                    response = await client.post(url, json={"contents": example.contents})  # type: ignore[attr-defined]
                    response.raise_for_status()

            await asyncio.gather(*(one(ex) for ex in examples))

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with emulator_process(job_duration=0.2) as emu:
        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emu.connection_json()
        from airflow_tuning.evaluation.storage import read_eval_dataset
        from airflow_tuning.hooks.tuning import GeminiTuningHook

        endpoint = _tune(emu)
        examples = read_eval_dataset(GeminiTuningHook().get_storage_client(), f"gs://{BUCKET}/eval.jsonl")
        assert len(examples) == N
        _evaluate(endpoint, examples[:CONCURRENCY], CONCURRENCY)  # warm up imports and connections
        emu.configure(latency=LATENCY)

        sample_seconds, _, _ = _evaluate(endpoint, examples[:SEQUENTIAL_SAMPLE], 1)
        sequential = sample_seconds * N / SEQUENTIAL_SAMPLE
        load = os.getloadavg()[0]
        floor = _http_floor(emu, endpoint, examples, CONCURRENCY)
        wall, metrics, client_cpu = _evaluate(endpoint, examples, CONCURRENCY)

        emu.set_faults([{"route": r"^POST .*:generateContent$", "rate": 0.1, "status": 429}], seed=3)
        emu.reset_stats()
        faulted_wall, faulted_metrics, _ = _evaluate(endpoint, examples, CONCURRENCY)
        injected = emu.stats()["faults_by_kind"].get("429", 0)
        emu.clear_faults()

    note = f"sequential baseline extrapolated from {SEQUENTIAL_SAMPLE} sequential calls x {N // SEQUENTIAL_SAMPLE}"
    target = f"<= {IDEAL * 1.2:.2f}"
    emit("evaluation_wall_time_1000_examples_200ms_c32", round(wall, 2), "s", target, round(sequential, 1),
         ideal=IDEAL, ratio_to_ideal=round(wall / IDEAL, 3), client_cpu_ms_per_call=round(1000 * client_cpu / N, 2),
         load_average_1m=round(load, 2), cpus=os.cpu_count(), note=note)
    emit("http_floor_1000_posts_200ms_c32", round(floor, 2), "s", target, None,
         note="the same POSTs from a bare httpx client, no SDK, no scoring: the machine's floor right now")
    emit("evaluation_wall_time_1000_examples_200ms_c32_10pct_429", round(faulted_wall, 2), "s",
         f"<= {1.5 * wall:.2f}", round(wall, 2), injected_429=injected, load_average_1m=round(os.getloadavg()[0], 2),
         note="backoff from the connection's default retry policy (1 s initial delay, doubling, its 1 s jitter "
              "taken off the delay: a first wait of 0-1 s), waited outside the concurrency limit; baseline: the "
              "fault-free run just before")
    emit("evaluation_throttled_to_fault_free_ratio", round(faulted_wall / wall, 3), "x", "<= 1.5", 1.0)
    emit("evaluation_metrics_identical_under_429", faulted_metrics == metrics, "bool", True, None,
         metrics={k: round(v, 4) for k, v in metrics.items()})


if __name__ == "__main__":
    main()
