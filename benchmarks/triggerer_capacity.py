"""Triggerer capacity: 1,000 ``TuningJobTrigger``s in one asyncio loop against the emulator.

What a triggerer pays to watch many tuning jobs at once: RSS added, CPU seconds, status requests per
job-hour, and whether every completion is seen, in time. Two phases, both driving each trigger's ``run()``
generator to its end in one asyncio loop, as the triggerer does, through the shared per-connection async
client. The emulator runs in its own process: its memory and CPU are not counted.

Phase 1, whole jobs, time compressed by ``--compression`` (default 10: an hour passes in six minutes). Job
lengths are spread evenly over ``--min-job-minutes``..``--max-job-minutes`` of real time (default 30-45),
and the poll policy is the operators' default divided by the same factor (first poll 10 s, growing 1.5x to a
150 s cap, 20 % jitter), so each trigger makes the requests it would make in real time, only sooner. The
triggers start spread over ``--start-spread-minutes`` of real time (default 10: in steady operation deferred
tasks arrive over time; phase 2 covers the all-at-once case).

- RSS added: peak RSS while the triggers run minus RSS just before they were created (the shared client
  already built and connected, as in a running triggerer).
- CPU seconds: this process's user + system time while the triggers run. Compression does not change the
  number of requests, so this is also what the same jobs cost in real time.
- Requests per job-hour, steady state: tuning-job GETs counted by the emulator between the moment every
  trigger has reached the poll cap and the end of the shortest job, divided by the job-time in that window
  in real hours. The figure over the whole run, start-up polls included, is printed too.
- Missed: triggers that did not yield exactly one ``success`` event. Late: completions seen more than one
  poll cap after the job's end time. The event loop's lag is sampled too: a loop that cannot keep up shows
  there first (and then polls less often, which would flatter the request rate).

Compression multiplies the request rate while the machine stays the same size: too high a factor measures
an overloaded client rather than the triggers (watch ``cpu_ms_per_request`` and the loop lag).

Phase 2, a triggerer restart, real time: ``--triggers`` triggers on long, already polled jobs all start at
once (as after a triggerer restart or redeploy) and run for ``--restart-seconds`` (default 60; 0 skips it;
``--skip-steady`` runs it alone) with the default poll policy. Reported: RSS added, CPU seconds, requests
served against requests due, how long until every first poll was answered, the worst loop lag, and the
emulator's own rate of loading job data (paid before the restart, as the jobs were running already).

    python -m benchmarks.triggerer_capacity [--triggers 1000] [--compression 10] [--min-job-minutes 30]
        [--max-job-minutes 45] [--start-spread-minutes 10] [--restart-seconds 60] [--skip-steady]

Prints JSON lines {"name", "value", "unit", "target", "baseline"}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from benchmarks.common import (
    PeakRss,
    cpu_seconds,
    emit,
    emulator_process,
    isolated_airflow_home,
    load_average,
    note,
    rss_mb,
    upload_training_data,
)
from benchmarks.tuning_jobs import create_jobs, load_job_data

GET_JOB_ROUTE = "GET /v1beta1/projects/{p}/locations/{l}/tuningJobs/{id}"
RSS_TARGET_MB_PER_1000 = 150.0
REQUESTS_TARGET = 30.0


@dataclass
class Watch:
    """What one trigger yielded, and when."""

    name: str
    started_at: float
    events: list[dict[str, Any]] = field(default_factory=list)
    seen_at: float | None = None
    error: str | None = None


def scaled_policy(compression: float) -> Any:
    """The operators' default poll policy, with every interval divided by ``compression``."""
    from airflow_tuning.jobs.polling import PollPolicy

    real = PollPolicy()
    return PollPolicy(poll_interval=real.poll_interval / compression,
                      max_poll_interval=real.max_poll_interval / compression, poll_multiplier=real.poll_multiplier,
                      poll_jitter=real.poll_jitter, max_transient_errors=real.max_transient_errors)


def ramp_seconds(policy: Any) -> float:
    """Time from a trigger's start until its waits have grown to the cap (before jitter shortens them)."""
    total, attempt = 0.0, 0
    while policy.base_interval(attempt) < policy.max_poll_interval:
        total += policy.base_interval(attempt)
        attempt += 1
    return total


def polls_due(policy: Any, seconds: float) -> int:
    """Polls one trigger makes in its first ``seconds`` at the longest waits (jitter only adds polls)."""
    polls, elapsed, attempt = 1, 0.0, 0
    while (elapsed := elapsed + policy.base_interval(attempt)) <= seconds:
        polls, attempt = polls + 1, attempt + 1
    return polls


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: always one of the measured values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def spread(values: list[float], scale: float = 1.0) -> dict[str, float | None]:
    return {q: percentile(values, p) * scale if values else None for q, p in (("p50", 50), ("p99", 99), ("max", 100))}


async def watch(trigger: Any, record: Watch) -> None:
    """Drive ``trigger.run()`` to its end, as the triggerer does, noting each event and when it came."""
    await asyncio.sleep(max(0.0, record.started_at - time.time()))
    try:
        async for event in trigger.run():
            record.seen_at = time.time()
            record.events.append(event.payload)
    except Exception as err:
        record.error = f"{type(err).__name__}: {err}"
    finally:
        await trigger.cleanup()


class Probe:
    """The instruments around a phase: the emulator's GET count (over one kept-alive connection, so a reading
    is quick and its time known to a few milliseconds) and the event loop's lag."""

    def __init__(self, emu: Any) -> None:
        import httpx

        self.url = f"{emu.api_url}/_emulator/stats"
        self.client = httpx.AsyncClient(timeout=60)
        self.lags: list[float] = []
        self.gc_pauses: list[float] = []  # the collector stops the loop too: its pauses tell GC from our code
        self._gc_started = 0.0
        self._stop = asyncio.Event()
        self._lag_task: asyncio.Task[None] | None = None

    async def gets_at(self, when: float = 0.0) -> tuple[float, int, float]:
        """The GET count at epoch ``when``, stamped at the middle of the call, and the call's duration."""
        await asyncio.sleep(max(0.0, when - time.time()))
        before = time.time()
        response = await self.client.get(self.url)
        response.raise_for_status()
        after = time.time()
        return (before + after) / 2, response.json()["requests"].get(GET_JOB_ROUTE, 0), after - before

    def start_lag(self, interval: float = 0.05) -> None:
        async def sample() -> None:
            while not self._stop.is_set():
                before = time.perf_counter()
                await asyncio.sleep(interval)
                self.lags.append(time.perf_counter() - before - interval)

        self._lag_task = asyncio.create_task(sample())
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif info.get("generation") == 2 or time.perf_counter() - self._gc_started > 0.01:
            self.gc_pauses.append(time.perf_counter() - self._gc_started)

    async def close(self) -> None:
        self._stop.set()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._lag_task is not None:
            await self._lag_task
        await self.client.aclose()


async def prepare(emu: Any, name: str) -> Probe:
    """Warm the shared client (a running triggerer already has it), then settle the heap."""
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    shared = await GeminiTuningHook.aget_async_genai_client()
    await shared.tunings.get(name=name)
    gc.collect()
    return Probe(emu)


async def steady_phase(args: argparse.Namespace, emu: Any, uri: str) -> dict[str, Any]:
    from airflow_tuning.triggers.tuning import TuningJobTrigger

    compression, n = args.compression, args.triggers
    policy = scaled_policy(compression)
    low, high = args.min_job_minutes * 60 / compression, args.max_job_minutes * 60 / compression
    started = time.perf_counter()
    jobs = await create_jobs(uri, [low + i * (high - low) / max(1, n - 1) for i in range(n)])
    note(f"phase 1: created {n} jobs in {time.perf_counter() - started:.1f} s")
    start_spread = args.start_spread_minutes * 60 / compression
    delays = [start_spread * i / max(1, n - 1) for i in range(n)]
    random.Random(0).shuffle(delays)

    probe = await prepare(emu, jobs[0][0])
    answers = await count_answers()  # in the client: the emulator's stats route visits every job
    rss_before, cpu_before = rss_mb(), cpu_seconds()
    with PeakRss() as peak:
        t0 = time.time()
        probe.start_lag()
        triggers = [TuningJobTrigger(name, **policy.to_kwargs()) for name, _ in jobs]
        records = [Watch(name, started_at=t0 + delay) for (name, _), delay in zip(jobs, delays, strict=True)]
        tasks = [asyncio.create_task(watch(t, r)) for t, r in zip(triggers, records, strict=True)]
        cap = policy.max_poll_interval
        window = (t0 + start_spread + ramp_seconds(policy) + cap, min(end for _, end in jobs) - cap)
        await asyncio.gather(*tasks)
        wall = time.time() - t0
    cpu = cpu_seconds() - cpu_before
    snapshots = None
    if window[1] - window[0] >= 2 * cap:
        snapshots = [(w, sum(1 for _, a in answers if a <= w), 0.0) for w in window]
    else:
        note("no steady-state window: jobs too short for the start spread and poll ramp")
    gets = len(answers)
    await probe.close()
    return {"policy": policy, "jobs": jobs, "records": records, "wall": wall, "cpu": cpu, "gets": gets,
            "rss_before": rss_before, "rss_peak": peak.peak, "snapshots": snapshots, "lags": probe.lags,
            "gc_pauses": probe.gc_pauses}


async def restart_phase(args: argparse.Namespace, emu: Any, uri: str) -> dict[str, Any]:
    from airflow_tuning.jobs.polling import PollPolicy
    from airflow_tuning.triggers.tuning import TuningJobTrigger

    n, seconds, policy = args.triggers, args.restart_seconds, PollPolicy()
    jobs = await create_jobs(uri, [seconds + 3600.0] * n)
    warm_up = await load_job_data(jobs)
    note(f"phase 2: {n} triggers start at once, real time, for {seconds:g} s")
    probe = await prepare(emu, jobs[0][0])
    gets_before = (await probe.gets_at())[1]
    answered = await count_answers()
    rss_before, cpu_before = rss_mb(), cpu_seconds()
    with PeakRss() as peak:
        t0 = time.time()
        probe.start_lag()
        records, tasks = [], []
        for name, _ in jobs:  # as Airflow's TriggerRunner.create_triggers: one trigger, then yield to the loop
            records.append(Watch(name, started_at=t0))
            tasks.append(asyncio.create_task(watch(TuningJobTrigger(name, **policy.to_kwargs()), records[-1])))
            await asyncio.sleep(0)
        # Answers are counted in this process: the emulator's stats route visits every job, and polling it
        # often with 10,000 jobs would slow the emulator down and measure that instead.
        await asyncio.sleep(seconds)
    cpu = cpu_seconds() - cpu_before
    for task in tasks:  # the triggerer stops: triggers are cancelled, their jobs keep running
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    gets = (await probe.gets_at())[1] - gets_before
    await probe.close()
    first = sorted({name: when for name, when in reversed(answered)}.values())  # each job's first answer
    first_polls = first[-1] - t0 if len(first) == n else None
    due = sum(polls_due(policy, seconds - TuningJobTrigger(name).first_poll_delay) for name, _ in jobs)
    return {"cpu": cpu, "gets": gets, "due": due,
            "emulator_data_loads_per_second": n / warm_up, "rss_added": peak.peak - rss_before,
            "first_polls": first_polls, "first_polls_answered": len(first), "lags": probe.lags,
            "gc_pauses": probe.gc_pauses,
            "seconds": seconds}


async def count_answers() -> list[tuple[str, float]]:
    """Every status answer to the shared client, as (job, when): a spy on its ``tunings.get``."""
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    tunings = (await GeminiTuningHook.aget_async_genai_client()).tunings
    real_get, answered = tunings.get, []

    async def get(*, name: str, config: Any = None) -> Any:
        job = await real_get(name=name, config=config)
        answered.append((name, time.time()))
        return job

    tunings.get = get
    return answered


def rss_target_mb(triggers: int) -> float:
    """150 MB per 1,000 triggers up to 1,000; 300 MB for any larger fleet (10,000 included)."""
    return RSS_TARGET_MB_PER_1000 * triggers / 1000 if triggers <= 1000 else 300.0


def report_steady(args: argparse.Namespace, result: dict[str, Any], common: dict[str, Any]) -> bool:
    n, compression, policy = args.triggers, args.compression, result["policy"]
    real_hours, cap = compression / 3600.0, result["policy"].max_poll_interval
    rss_added, rss_target = result["rss_peak"] - result["rss_before"], rss_target_mb(n)
    lag_ms = spread(result["lags"], 1000)
    emit(f"triggerer_rss_added_{n}_triggers", rss_added, "MB", f"<= {rss_target:g}", None,
         rss_before_mb=result["rss_before"], rss_peak_mb=result["rss_peak"], kb_per_trigger=1000 * rss_added / n,
         **common)
    job_hours = sum(r.seen_at - r.started_at for r in result["records"] if r.seen_at) * real_hours
    emit(f"triggerer_cpu_seconds_{n}_triggers", result["cpu"], "s", None, None,
         wall_seconds=result["wall"], cpu_share_of_one_core=result["cpu"] / result["wall"],
         cpu_share_of_one_core_real_time=result["cpu"] / (result["wall"] * compression),
         cpu_ms_per_request=1000 * result["cpu"] / max(1, result["gets"]), requests=result["gets"],
         cpu_seconds_per_1000_job_hours=1000 * result["cpu"] / job_hours if job_hours else None,
         job_hours_watched=job_hours, event_loop_lag_ms=lag_ms,
         worst_gc_pause_ms=1000 * max(result["gc_pauses"], default=0.0), **common)
    met = rss_added <= rss_target
    if result["snapshots"]:
        (t1, c1, d1), (t2, c2, d2) = result["snapshots"]
        steady = (c2 - c1) / (n * (t2 - t1) * real_hours)
        met &= steady <= REQUESTS_TARGET
        emit("triggerer_requests_per_job_hour_steady", steady, "requests/job-hour", f"<= {REQUESTS_TARGET:g}", None,
             expected_from_policy=policy.steady_requests_per_hour() / compression, requests_in_window=c2 - c1,
             window_real_minutes=(t2 - t1) * compression / 60,
             window_uncertainty_percent=100 * (d1 + d2) / 2 / (t2 - t1), **common)
    emit("triggerer_requests_per_job_hour_overall", result["gets"] / job_hours if job_hours else None,
         "requests/job-hour", None, None, requests=result["gets"], job_hours=job_hours,
         note="whole run, the start-up polls (10 s growing to 150 s, real time) included", **common)

    ends = dict(result["jobs"])
    for rec in result["records"]:  # the job's own end time, as the trigger reported it
        end_time = rec.events[0].get("summary", {}).get("end_time") if rec.events else None
        if end_time:
            ends[rec.name] = datetime.fromisoformat(end_time).timestamp()
    missed = [r for r in result["records"] if r.error or len(r.events) != 1 or r.events[0].get("status") != "success"]
    latencies = [r.seen_at - ends[r.name] for r in result["records"] if r.seen_at and r not in missed]
    late = [x for x in latencies if x > cap]
    emit("triggerer_missed_completions", len(missed), "jobs", "== 0", None,
         examples=[{"job": r.name, "events": len(r.events), "error": r.error,
                    "status": r.events[0].get("status") if r.events else None} for r in missed[:3]], **common)
    emit("triggerer_late_completions", len(late), "jobs", "== 0", None, poll_cap_real_seconds=cap * compression,
         latency_real_seconds=spread(latencies, compression), event_loop_lag_ms=lag_ms,
         note="late: seen more than one poll cap after the job's end time", **common)
    return met and not missed and not late


def report_restart(args: argparse.Namespace, result: dict[str, Any], common: dict[str, Any]) -> None:
    common = {**common, "compression": 1.0, "seconds": result["seconds"]}
    lags = result["lags"]
    rss_target = rss_target_mb(args.triggers)
    emit(f"triggerer_restart_rss_added_{args.triggers}_triggers", result["rss_added"], "MB", f"<= {rss_target:g}",
         None, kb_per_trigger=1000 * result["rss_added"] / args.triggers, **common)
    emit(f"triggerer_restart_worst_loop_lag_{args.triggers}_triggers", 1000 * max(lags) if lags else None, "ms",
         None, None, all_first_polls_answered_seconds=result["first_polls"],
         worst_gc_pause_ms=1000 * max(result["gc_pauses"], default=0.0), gc_pauses_over_10ms=len(result["gc_pauses"]),
        note="largest delay of a 50 ms asyncio.sleep while every trigger makes its first polls; a full garbage "
             "collection stops the loop too (worst_gc_pause_ms)", **common)
    emit("emulator_job_data_loads_per_second", result["emulator_data_loads_per_second"], "jobs/s", None, None,
         note="the emulator reads each job's training data from its storage on the first poll after the job "
              "starts; done before the restart is measured (as in a real restart, the jobs were running)",
         **common)
    emit(f"triggerer_restart_cpu_seconds_{args.triggers}_triggers", result["cpu"], "s", None, None,
         requests_served=result["gets"], requests_due=result["due"],
         first_polls_answered=result["first_polls_answered"],
         cpu_ms_per_request=1000 * result["cpu"] / max(1, result["gets"]),
         all_first_polls_answered_seconds=result["first_polls"], event_loop_lag_ms=spread(result["lags"], 1000),
         note="all triggers start at once (triggerer restart), each first poll at its offset within the first "
              "poll interval; requests_due counts the polls the policy allows in the window at the longest waits",
         **common)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--compression", type=float, default=10.0, help="real seconds per benchmark second")
    parser.add_argument("--min-job-minutes", type=float, default=30.0, help="shortest job, real minutes")
    parser.add_argument("--max-job-minutes", type=float, default=45.0, help="longest job, real minutes")
    parser.add_argument("--start-spread-minutes", type=float, default=10.0,
                        help="phase 1 trigger starts spread over this many real minutes (0: all at once)")
    parser.add_argument("--restart-seconds", type=float, default=60.0, help="phase 2 length (0: skip phase 2)")
    parser.add_argument("--skip-steady", action="store_true", help="run phase 2 only")
    args = parser.parse_args(argv)
    if (args.triggers < 1 or args.compression <= 0 or args.start_spread_minutes < 0 or args.restart_seconds < 0
            or not 0 < args.min_job_minutes <= args.max_job_minutes):
        parser.error("need --triggers >= 1, --compression > 0, --start-spread-minutes >= 0, "
                     "--restart-seconds >= 0 and 0 < --min-job-minutes <= --max-job-minutes")

    isolated_airflow_home()
    with emulator_process() as emu:
        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emu.connection_json()
        uri = upload_training_data(emu)
        common = {"triggers": args.triggers, "compression": args.compression, "load_average_1m": load_average()}
        met = True
        if not args.skip_steady:
            note(f"phase 1: {args.triggers} triggers, jobs of {args.min_job_minutes:g}-{args.max_job_minutes:g} "
                 f"min, time compressed x{args.compression:g}")
            load = load_average()
            steady = asyncio.run(steady_phase(args, emu, uri))
            common["load_average_1m"] = max(load, load_average())
            met = report_steady(args, steady, common)
        if args.restart_seconds:
            load = load_average()
            restart = asyncio.run(restart_phase(args, emu, uri))
            report_restart(args, restart, {**common, "load_average_1m": max(load, load_average())})
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
