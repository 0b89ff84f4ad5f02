"""The waiting half of the tuning operators: poll settings, the hook, and where to wait.

Waiting happens either in the triggerer (``TuningJobTrigger``, the default) or on the worker; both use the
same ``PollPolicy`` so backoff, jitter and transient-error tolerance are defined once, and the same client
interface (``tunings.get`` / ``tunings.cancel``) whichever backend runs the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow_tuning.backends.gemini_api.jobs import VERTEX, ProgressLog
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.polling import PollPolicy, deadline_after
from airflow_tuning.jobs.watch import WaitResult, wait_sync


class TuningJobClientMixin:
    """The poll policy, the hook and the backend's tunings client, shared by the operators and the sensor."""

    gcp_conn_id: str
    poll_settings: dict[str, Any]
    backend: str = VERTEX

    @property
    def policy(self) -> PollPolicy:
        return PollPolicy(**self.poll_settings)

    @cached_property
    def hook(self) -> GeminiTuningHook:
        return GeminiTuningHook(gcp_conn_id=self.gcp_conn_id)

    def _tunings_client(self) -> Any:
        """The client whose ``tunings.get`` / ``tunings.cancel`` serve this task's backend."""
        return self.hook.get_tunings_client(self.backend)


class TuningJobWaitingMixin(TuningJobClientMixin):
    """The two ways to wait (triggerer or worker), shared by the operators."""

    deferrable: bool
    wait_for_completion: bool
    timeout: float | timedelta | None
    execution_timeout: timedelta | None

    def _init_waiting(
        self, gcp_conn_id: str, deferrable: bool, wait_for_completion: bool, timeout: Any, **poll: Any
    ) -> None:
        self.gcp_conn_id = gcp_conn_id
        self.deferrable = deferrable
        self.wait_for_completion = wait_for_completion
        self.timeout = timeout
        self.poll_settings = PollPolicy.build(**poll).to_kwargs()  # validated when the DAG is parsed

    def _defer_on(self, names: Sequence[str], *, cancel_on_kill: bool) -> None:
        """Wait in the triggerer. Without ``timeout`` the task's ``execution_timeout`` bounds the wait, so
        that the trigger (which cancels) rather than a bare deferral timeout ends it."""
        from airflow_tuning.triggers.tuning import TuningJobTrigger

        timeout = self.timeout if self.timeout is not None else self.execution_timeout
        self.log.info("Deferring until tuning job(s) %s end", ", ".join(names))  # type: ignore[attr-defined]
        self.defer(  # type: ignore[attr-defined]
            **TuningJobTrigger.deferral(
                names,
                gcp_conn_id=self.gcp_conn_id,
                policy=self.policy,
                timeout=timeout,
                cancel_on_kill=cancel_on_kill,
                backend=self.backend,
            )
        )

    def _wait_here(self, names: Sequence[str]) -> WaitResult:
        """Wait on the worker; ``execution_timeout`` is left to Airflow, which then calls ``on_kill``."""
        log = self.log  # type: ignore[attr-defined]
        client = ProgressLog(self._tunings_client(), log)
        return wait_sync(client, names, self.policy, deadline_after(self.timeout), log)
