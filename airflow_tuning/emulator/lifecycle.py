"""A tuning job's life as a function of its timestamps: no thread, no timer, any number of jobs.

PENDING until ``startTime``, RUNNING until ``endTime``, then SUCCEEDED; a cancel moves it to CANCELLING
and, shortly after, CANCELLED. The training data is read the first time the job is observed after its
start (once, in a worker thread); bad data fails the job as Vertex AI does, with ``error.code`` 3 and a
message naming the file and line. Success is made concrete (model version, endpoints) on first
observation too, so every read is O(1) once a job has settled.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_tuning.emulator import methods, registry, timeline
from airflow_tuning.emulator.datasets import DatasetError, read_object
from airflow_tuning.emulator.state import Config, Store
from airflow_tuning.emulator.wire import RPC_CANCELLED, RPC_INVALID_ARGUMENT, failed_precondition, timestamp
from airflow_tuning.jobs import states as js

DURATION_LABEL = "emulator-duration-ms"
DEFAULT_EPOCHS = 3
INTERNAL = 13

# Fields each API version's TuningJob knows (the v1 proto is a subset of v1beta1's).
_V1_JOB = {
    "name", "baseModel", "preTunedModel", "supervisedTuningSpec", "tunedModelDisplayName", "description",
    "state", "createTime", "startTime", "endTime", "updateTime", "error", "labels", "experiment",
    "tunedModel", "tuningDataStats", "encryptionSpec", "serviceAccount",
}
_V1_SPEC = {"trainingDatasetUri", "validationDatasetUri", "hyperParameters", "exportLastCheckpointOnly",
            "evaluationConfig"}
_V1_HYPER = {"epochCount", "learningRateMultiplier", "adapterSize"}


class Lifecycle:
    """Creates, advances, cancels and renders tuning jobs held in a :class:`Store`."""

    def __init__(self, store: Store, config: Config, storage_url: str | None) -> None:
        self.store = store
        self.config = config
        self.storage_url = storage_url
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._storage_client: Any = None

    # -- creation -------------------------------------------------------------------------------------
    def create(self, parent: str, request: dict[str, Any], pre: dict[str, Any] | None) -> dict[str, Any]:
        """Record a new PENDING job; ``request`` is validated and camelCased, ``pre`` the resolved parent."""
        now = time.time()
        labels = request.get("labels") or {}
        duration = self.config.job_duration
        if DURATION_LABEL in labels:
            duration = int(labels[DURATION_LABEL]) / 1000.0
        pending = min(0.25 * duration, 2.0)
        job_id = self.store.new_id()
        job = {
            "name": f"{parent}/tuningJobs/{job_id}",
            "request": request,
            "pre": pre,
            "epochs": int(methods.method_of(request)[1]["hyperParameters"]["epochCount"]),
            "duration": duration,
            "createTime": now,
            "startTime": now + pending,
            "endTime": now + duration,
            "cancelTime": None,
            "cancelEndTime": None,
            "dataLoaded": False,
            "error": None,
            "stats": None,
            "tunedModel": None,
            "detailed": timeline.wanted(labels, self.config.detailed_job_states),
        }
        self.store.jobs[str(job["name"])] = job
        self.store.save()
        return job

    # -- advancing ------------------------------------------------------------------------------------
    @staticmethod
    def state(job: dict[str, Any], now: float) -> str:
        if job["error"] is not None:
            return js.FAILED
        if job["cancelTime"] is not None:
            return js.CANCELLED if now >= job["cancelEndTime"] else js.CANCELLING
        if now < job["startTime"]:
            return js.QUEUED if timeline.queued(job, now) else js.PENDING
        if now < job["endTime"]:
            return js.RUNNING
        return js.SUCCEEDED

    async def observe(self, job: dict[str, Any], now: float | None = None) -> str:
        """Bring the job up to date (read its data, publish its model) and return its state."""
        now = time.time() if now is None else now
        if (not job["dataLoaded"] and now >= job["startTime"]
                and (job["cancelTime"] is None or job["cancelTime"] > job["startTime"])):
            await self._ensure_loaded(job)
        state = self.state(job, now)
        if state == js.SUCCEEDED and job["tunedModel"] is None:
            job["tunedModel"] = registry.publish(self.store, job, self.store.examples.get(job["name"], []))
            self.store.save()
        return state

    async def _ensure_loaded(self, job: dict[str, Any]) -> None:
        task = self._loading.get(job["name"])
        if task is None:
            task = asyncio.ensure_future(self._load(job))
            self._loading[job["name"]] = task
        await asyncio.shield(task)

    async def _load(self, job: dict[str, Any]) -> None:
        try:
            if job["dataLoaded"]:
                return
            method, spec = methods.method_of(job["request"])
            teacher = methods.teacher_for(spec, self.store, job["name"].split("/tuningJobs/", 1)[0])
            loop = asyncio.get_running_loop()
            try:
                if method is methods.DISTILLATION and teacher is None:
                    raise DatasetError(f"The teacher model {spec.get('tunedTeacherModelSource')} does not exist.")
                uri = methods.training_uri(method, spec)
                training = await loop.run_in_executor(None, self._read, method, uri, teacher)
                if spec.get("validationDatasetUri"):
                    await loop.run_in_executor(None, self._read, method, spec["validationDatasetUri"], teacher)
            except DatasetError as err:
                job["error"] = {"code": RPC_INVALID_ARGUMENT, "message": str(err)}
            except Exception as err:  # storage unreachable: the job fails, the server stays up
                job["error"] = {"code": INTERNAL, "message": f"Failed to read the tuning data: {err}"}
            else:
                self.store.examples[job["name"]] = [list(pair) for pair in training.examples]
                job["stats"] = methods.stats(method, training, job["epochs"])
            job["dataLoaded"] = True
            self.store.save()
        finally:
            self._loading.pop(job["name"], None)

    def _read(self, method: methods.Method, uri: str, teacher: Any = None) -> Any:
        return methods.parse(method, uri, read_object(self._storage(), uri), teacher)

    def _storage(self) -> Any:
        if self._storage_client is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._storage_client = storage.Client(
                project="emulator", credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.storage_url},
            )
        return self._storage_client

    # -- cancelling -----------------------------------------------------------------------------------
    async def cancel(self, job: dict[str, Any]) -> None:
        now = time.time()
        state = await self.observe(job, now)
        if state in js.ENDED_STATES:
            raise failed_precondition(
                f"Tuning job {job['name']} is in state {state} and cannot be cancelled."
            )
        if state == js.CANCELLING:
            return
        job["cancelTime"] = now
        job["cancelEndTime"] = now + min(0.5, 0.2 * job["duration"])
        self.store.save()

    # -- rendering ------------------------------------------------------------------------------------
    def render(self, job: dict[str, Any], api_version: str, now: float | None = None) -> dict[str, Any]:
        """The job as the API returns it; call :meth:`observe` first, with the same ``now``."""
        now = time.time() if now is None else now
        state = self.state(job, now)
        out: dict[str, Any] = {"name": job["name"]}
        out.update(job["request"])
        pre = job["pre"]
        if pre is not None:
            out["preTunedModel"] = {
                "tunedModelName": pre["tunedModelName"],
                "checkpointId": pre["checkpointId"],
                "baseModel": pre["baseModel"],
            }
        out["state"] = state
        out["createTime"] = timestamp(job["createTime"])
        started = job["cancelTime"] is None or job["cancelTime"] > job["startTime"]
        changed = job["createTime"]
        if started and state not in (js.PENDING, js.QUEUED):
            out["startTime"] = timestamp(job["startTime"])
            changed = job["startTime"]
        if state == js.FAILED:
            out["error"] = job["error"]
            out["endTime"] = timestamp(job["startTime"])
        elif state in (js.CANCELLING, js.CANCELLED):
            changed = job["cancelTime"]
            if state == js.CANCELLED:
                changed = job["cancelEndTime"]
                out["endTime"] = timestamp(changed)
                out["error"] = {"code": RPC_CANCELLED, "message": "CANCELED"}
        elif state == js.SUCCEEDED:
            changed = job["endTime"]
            out["endTime"] = timestamp(changed)
            if job["tunedModel"] is not None:
                out["tunedModel"] = job["tunedModel"]
        out["updateTime"] = timestamp(changed)
        if job["stats"] is not None and state not in (js.PENDING, js.QUEUED):
            out["tuningDataStats"] = job["stats"]
        out.update(timeline.progress(job, state, now, len(self.store.examples.get(job["name"], []))))
        return restrict(out) if api_version == "v1" else out


def restrict(job: dict[str, Any]) -> dict[str, Any]:
    """Drop what the v1 TuningJob proto does not know (v1beta1-only request fields)."""
    out = {k: v for k, v in job.items() if k in _V1_JOB}
    spec = out.get("supervisedTuningSpec")
    if isinstance(spec, dict):
        spec = {k: v for k, v in spec.items() if k in _V1_SPEC}
        if isinstance(spec.get("hyperParameters"), dict):
            spec["hyperParameters"] = {k: v for k, v in spec["hyperParameters"].items() if k in _V1_HYPER}
        out["supervisedTuningSpec"] = spec
    return out
