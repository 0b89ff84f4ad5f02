"""Checkpoint evaluation throughput: six checkpoints x 500 examples, 200 ms per call, concurrency 32.

Every checkpoint is served by its own endpoint (as on Vertex AI), all 3,000 calls share one concurrency
budget, and the figure is what ``EvaluateTunedModelOperator(checkpoints="all")`` does between reading the
data and writing the report: find the checkpoints and their endpoints through the Model Registry and
EndpointService clients, generate, score every checkpoint and choose the best. Ideal wall time is
6 x 500 x 0.2 s / 32 = 18.75 s; the target is 1.2x that, without and with 10 % injected 429s. The faulted
run uses a connection with short backoff (50 ms initial delay, 50 ms jitter): the SDK retries inside the
concurrency slot, so each retried call holds its slot for its backoff too; with the default 1 s backoff
the 429 run is slower by about (faults x backoff) / concurrency, and its metrics are the same.

Run: ``python -m benchmarks.checkpoint_evaluation``; prints JSON lines {"name","value","unit","target",...}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

from benchmarks.common import emit, emulator_process

N = 500
EPOCHS = 6
LATENCY = 0.2
CONCURRENCY = 32
BUCKET = "bench-checkpoints"
IDEAL = EPOCHS * N * LATENCY / CONCURRENCY
GENERATE = r"^POST .*:generateContent$"
log = logging.getLogger("benchmarks.checkpoint_evaluation")


def _line(question: str, answer: str) -> str:
    turns = [{"role": "user", "parts": [{"text": question}]}, {"role": "model", "parts": [{"text": answer}]}]
    return json.dumps({"contents": turns})


def _tune(emu) -> str:
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook

    train, evaluation = [], []
    for i in range(N):
        answer = f"Parcel {i} leaves hub {i % 11} on day {i % 5 + 1}."
        train.append(_line(f"When does parcel number {i} leave the hub?", answer))
        evaluation.append(_line(f"Which day does parcel number {i} depart?", answer))
    bucket = emu.create_bucket(BUCKET)
    bucket.blob("train.jsonl").upload_from_string("\n".join(train) + "\n")
    bucket.blob("eval.jsonl").upload_from_string("\n".join(evaluation) + "\n")
    client = GeminiTuningHook().get_genai_client()
    job = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=f"gs://{BUCKET}/train.jsonl"),
        config=types.CreateTuningJobConfig(epoch_count=EPOCHS, labels={"emulator-duration-ms": "1500"}),
    )
    while not job.has_ended:
        time.sleep(0.1)
        job = client.tunings.get(name=job.name)
    if job.state.name != "JOB_STATE_SUCCEEDED":
        raise RuntimeError(f"tuning failed: {job.error}")
    return job.tuned_model.model


def _evaluate(model: str, examples: list) -> tuple[float, list[dict], str]:
    """Wall seconds, per-checkpoint metrics and the best checkpoint, as the operator computes them."""
    from airflow_tuning.evaluation.generation import GenerationRequest, generate_all
    from airflow_tuning.evaluation.judging import judge
    from airflow_tuning.evaluation.metrics import DEFAULT_METRICS, resolve_metrics
    from airflow_tuning.evaluation.selection import candidate_checkpoints
    from airflow_tuning.evaluation.targets import resolve_target
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    GeminiTuningHook.forget_async_clients()
    hook = GeminiTuningHook()
    started = time.perf_counter()
    target = resolve_target(model, project=hook.project, location=hook.location,
                            model_client=hook.get_model_service_client(), retry=hook.api_core_retry)
    chosen = candidate_checkpoints(hook, target, "all") or []
    requests = [GenerationRequest(c.endpoint, ex) for c in chosen for ex in examples]
    aio = hook.get_async_genai_client()

    async def run() -> list[str]:
        try:
            return await generate_all(aio, requests, source="bench", max_concurrency=CONCURRENCY, log=log,
                                      progress_interval=5.0)
        finally:
            await aio.aclose()

    outputs = asyncio.run(run())
    judged = judge(outputs, candidates=len(chosen), references=[ex.reference for ex in examples],
                   metrics=resolve_metrics(DEFAULT_METRICS), primary_metric="rouge_l",
                   labels=[str(ex.line) for ex in examples], has_baseline=False, checkpoints=chosen)
    return time.perf_counter() - started, judged.checkpoints or [], judged.best_checkpoint or ""


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with emulator_process(job_duration=0.2) as emu:
        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emu.connection_json()
        from airflow_tuning.evaluation.storage import read_eval_dataset
        from airflow_tuning.hooks.tuning import GeminiTuningHook

        model = _tune(emu)
        examples = read_eval_dataset(GeminiTuningHook().get_storage_client(), f"gs://{BUCKET}/eval.jsonl")
        assert len(examples) == N
        _evaluate(model, examples[:CONCURRENCY])  # warm up imports and connections
        emu.configure(latency=LATENCY)
        load = os.getloadavg()[0]
        wall, rows, best = _evaluate(model, examples)

        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emu.connection_json(
            retry_initial_delay=0.05, retry_max_delay=0.5, retry_jitter=0.05
        )
        emu.set_faults([{"route": GENERATE, "rate": 0.1, "status": 429}], seed=3)
        emu.reset_stats()
        faulted_wall, faulted_rows, faulted_best = _evaluate(model, examples)
        injected = emu.stats()["faults_by_kind"].get("429", 0)
        emu.clear_faults()

    target = f"<= {IDEAL * 1.2:.2f}"
    curve = {r["checkpoint_id"]: round(r["metrics"]["rouge_l"], 4) for r in rows}
    emit("checkpoint_evaluation_6x500_200ms_c32", round(wall, 2), "s", target, None, ideal=IDEAL,
         ratio_to_ideal=round(wall / IDEAL, 3), checkpoints=len(rows), best_checkpoint=best,
         rouge_l_per_checkpoint=curve, load_average_1m=round(load, 2), cpus=os.cpu_count())
    emit("checkpoint_evaluation_6x500_200ms_c32_10pct_429", round(faulted_wall, 2), "s", target, round(wall, 2),
         ideal=IDEAL, ratio_to_ideal=round(faulted_wall / IDEAL, 3), injected_429=injected,
         note="connection retry policy: 50 ms initial backoff, 50 ms jitter")
    emit("checkpoint_evaluation_identical_under_429", faulted_rows == rows and faulted_best == best, "bool", True,
         None)


if __name__ == "__main__":
    main()
