"""``TuningJobTrigger``: waits on tuning jobs in the triggerer, so no worker slot is held.

Vertex AI tuning jobs by default; with ``backend="gemini_api"`` Gemini Developer API runs (their operation
or tuned model), whose completed percentage is logged as it grows. The trigger never creates a job (a
triggerer restart re-runs ``run()``; creating there could submit twice), and its kwargs hold only job names,
the connection id, poll settings, a deadline and the backend: never a credential (the API key is read from
the connection in the triggerer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_tuning.backends import DEFAULT_BACKEND, TuningService, tuning_service
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.outage import CancelOutcome, acancel_jobs, cancel_grace
from airflow_tuning.jobs.polling import PollPolicy, deadline_after
from airflow_tuning.jobs.progress import ProgressLog
from airflow_tuning.jobs.states import is_ended
from airflow_tuning.jobs.watch import WaitResult, wait_async

ON_KILL_TIMEOUT = 30.0


class TuningJobTrigger(BaseTrigger):
    """Poll one or more tuning jobs until all have ended; yield one event with their summaries.

    Polls back off from ``poll_interval`` to ``max_poll_interval`` with jitter. Transient API errors (5xx,
    429, network) never end the wait: after ``max_transient_errors`` in a row the API counts as unavailable
    (one WARNING) and polls continue at the cap until it answers or the deadline passes. A job that answers
    404 twice in a row is gone (nothing to cancel). On any give-up (deadline, a gone job, a non-transient
    error) jobs still running are cancelled when ``cancel_on_kill``, retrying the cancel for two poll caps.
    Each state change is logged with the job's elapsed time, and a Developer-API run's progress percent.

    Event payload: ``{"status": "success"|"failed"|"cancelled"|"timeout"|"error", "summary": {...},
    "summaries": [...], "errors": {job: Vertex error message}, "message": str}``. With several jobs the
    worst outcome wins (failed, then cancelled); EXPIRED reports as ``cancelled`` (the summary keeps the
    exact state).

    :param tuning_job_names: full resource names of the jobs to wait on (for ``gemini_api``: operation names
        ``tunedModels/{id}/operations/{op}``, or tuned model names).
    :param gcp_conn_id: the ``gemini_tuning`` (or ``google_cloud_platform``) connection (resolved in the
        triggerer, never serialised).
    :param location: the Vertex AI region, overriding the connection's (the task's ``location``).
    :param deadline: absolute epoch seconds; when it passes, jobs are cancelled if ``cancel_on_kill`` and a
        ``timeout`` event is yielded. Absolute so that a restarted triggerer keeps the original deadline.
    :param cancel_on_kill: cancel the jobs when a user kills the deferred task (mark failed / success,
        clear) and when the deadline passes. ``cleanup()`` never cancels: it also runs on triggerer
        restarts, when the job must keep running.
    :param backend: ``vertex`` (default), ``gemini_api`` or a ``TuningService``; kwargs carry its name.
    :param poll: the poll policy (``PollPolicy`` or a mapping); ``poll_interval``, ``max_poll_interval``,
        ``poll_multiplier``, ``poll_jitter`` and ``max_transient_errors`` also work as keyword arguments
        (which is how the serialized kwargs carry them).
    """

    def __init__(
        self,
        tuning_job_names: str | Sequence[str],
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        deadline: float | None = None,
        cancel_on_kill: bool = True,
        backend: str | TuningService | None = None,
        poll: PollPolicy | dict[str, Any] | None = None,
        location: str | None = None,
        **poll_settings: Any,
    ) -> None:
        super().__init__()
        names = [tuning_job_names] if isinstance(tuning_job_names, str) else list(tuning_job_names)
        if not names:
            raise ValueError("TuningJobTrigger needs at least one tuning job name")
        self.tuning_job_names = names
        self.gcp_conn_id = gcp_conn_id
        self.location = location
        self.policy = PollPolicy.of(poll, **poll_settings)
        self.deadline = None if deadline is None else float(deadline)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.service = tuning_service(backend)
        self.backend = self.service.name

    @classmethod
    def deferral(
        cls,
        tuning_job_names: Sequence[str],
        *,
        gcp_conn_id: str,
        policy: PollPolicy,
        timeout: float | timedelta | None,
        cancel_on_kill: bool,
        backend: str | TuningService | None = None,
        location: str | None = None,
    ) -> dict[str, Any]:
        """Arguments for ``BaseOperator.defer``: this trigger, plus Airflow's own timeout as a backstop.

        The trigger enforces ``timeout`` itself (cancelling first); Airflow's timeout is set a little later
        and only fires if the trigger's own handling never ran.
        """
        deadline = deadline_after(timeout)
        backstop = None
        if deadline is not None:
            backstop = timedelta(seconds=max(0.0, deadline - time.time()) + 2 * policy.max_poll_interval + 60)
        trigger = cls(
            tuning_job_names=list(tuning_job_names),
            gcp_conn_id=gcp_conn_id,
            deadline=deadline,
            cancel_on_kill=cancel_on_kill,
            backend=backend,
            location=location,
            **policy.to_kwargs(),
        )
        return {"trigger": trigger, "method_name": "execute_complete", "timeout": backstop}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "tuning_job_names": list(self.tuning_job_names),
                "gcp_conn_id": self.gcp_conn_id,
                **self.policy.to_kwargs(),
                "deadline": self.deadline,
                "cancel_on_kill": self.cancel_on_kill,
                **({"backend": self.service.name} if self.service.name != DEFAULT_BACKEND else {}),
                **({"location": self.location} if self.location else {}),
            },
        )

    async def _client(self) -> Any:
        if self.location:
            return await self.service.async_tunings_client(GeminiTuningHook, self.gcp_conn_id, self.location)
        return await self.service.async_tunings_client(GeminiTuningHook, self.gcp_conn_id)

    @property
    def first_poll_delay(self) -> float:
        """Seconds before the first poll: a per-job offset within ``poll_interval``, the same on every run.

        Spreads the first polls of a triggerer that (re)starts with thousands of deferred tasks over the
        first poll interval, so they neither leave in one burst nor stall the event loop.
        """
        return self.policy.first_poll_offset("\n".join(self.tuning_job_names))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        names = self.tuning_job_names
        first = self.first_poll_delay
        self.log.info(
            "Waiting on tuning job(s) %s (poll policy %s; first poll in %.1f s)", ", ".join(names), self.policy, first
        )
        try:
            client = ProgressLog(await self._client(), self.log)
            result = await wait_async(client, names, self.policy, self.deadline, self.log, first_delay=first)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            result = WaitResult(
                "error", {}, f"Could not poll tuning job(s) {', '.join(names)}: {type(err).__name__}: {err}"
            )
        if result.outcome != "ended":
            result = await self._give_up(result)
        event = result.event(names)
        self.log.info("Tuning job wait finished: %s %s", event["status"], event["message"])
        yield TriggerEvent(event)

    async def _give_up(self, result: WaitResult) -> WaitResult:
        """The wait ended without every job ending (deadline, a job gone, an error that is not transient):
        cancel what still runs, so that no give-up leaves an orphan job (see ``jobs.outage``)."""
        if not self.cancel_on_kill:
            return result
        pending = [n for n in self.tuning_job_names if not self._ended(result, n) and n not in result.gone]
        if not pending:
            return result
        try:
            outcome = await acancel_jobs(await self._client(), pending, self.policy, self.log, self.service.acancel)
        except Exception as err:  # no client at all: nothing got through
            outcome = CancelOutcome()
            outcome.failed, outcome.last_error = pending, err
        if text := outcome.describe(cancel_grace(self.policy)):
            result.message += f"; {text}"
        return result

    @staticmethod
    def _ended(result: WaitResult, name: str) -> bool:
        job = result.jobs.get(name)
        return job is not None and is_ended(job.state)

    async def _cancel(self, names: Sequence[str]) -> list[str]:
        cancelled: list[str] = []
        if not names:
            return cancelled
        client = await self._client()
        for name in names:
            try:
                if await self.service.acancel(client, name, self.log):
                    cancelled.append(name)
            except Exception as err:
                self.log.error("Could not cancel tuning job %s: %s: %s", name, type(err).__name__, err)
        return cancelled

    async def on_kill(self) -> None:
        """The user killed the deferred task (mark failed / success, clear): cancel its jobs."""
        if not self.cancel_on_kill:
            self.log.info(
                "Task killed; leaving tuning job(s) %s running (cancel_on_kill=False)", self.tuning_job_names
            )
            return
        self.log.info("Task killed; cancelling tuning job(s) %s", ", ".join(self.tuning_job_names))
        await asyncio.wait_for(self._cancel(self.tuning_job_names), timeout=ON_KILL_TIMEOUT)

    async def cleanup(self) -> None:
        """Release nothing remote: this also runs on triggerer restarts, when the job must keep running.

        The shared async client belongs to the hook's per-loop cache, so it is not closed here either.
        """
