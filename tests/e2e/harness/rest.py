"""Airflow's public REST API v2, used the way a user, a script or the UI uses it."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import httpx

RUN_ENDED = {"success", "failed"}
TI_ENDED = {"success", "failed", "skipped", "upstream_failed", "removed"}


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _log_line(item: Any) -> str:
    """One structured log record as text: the message, then any exception type and value."""
    if not isinstance(item, dict):
        return str(item)
    text = str(item.get("event", ""))
    for error in item.get("error_detail") or ():
        text += f"\n{error.get('exc_type')}: {error.get('exc_value')}"
    return text


class AirflowRest:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.username = username
        self.password = password
        self._http = httpx.Client(base_url=base_url, timeout=60)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------------------
    def token(self) -> str:
        response = self._http.post("/auth/token", json={"username": self.username, "password": self.password})
        response.raise_for_status()
        return response.json()["access_token"]

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            self._token = self.token()
        response = self._http.request(
            method, path, headers={**(headers or {}), "Authorization": f"Bearer {self._token}"}, **kwargs
        )
        if response.status_code == 401:  # token expired: log in again once
            self._token = self.token()
            response = self._http.request(
                method, path, headers={**(headers or {}), "Authorization": f"Bearer {self._token}"}, **kwargs
            )
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    # -- API ------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        response = self._http.get("/api/v2/monitor/health")
        response.raise_for_status()
        return response.json()

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/api/v2/dags/{_q(dag_id)}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def import_errors(self) -> list[dict[str, Any]]:
        return self.json("GET", "/api/v2/importErrors")["import_errors"]

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the dag-processor has parsed and serialised ``dag_id``; import errors fail fast."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dag = self.dag(dag_id)
            if dag is not None:
                return dag
            errors = [e for e in self.import_errors() if dag_id in (e.get("filename") or "")]
            if errors:
                raise RuntimeError(f"DAG {dag_id} failed to import: {errors[0].get('stack_trace')}")
            time.sleep(1)
        raise TimeoutError(f"DAG {dag_id} not parsed after {timeout:.0f}s; import errors: {self.import_errors()}")

    def unpause(self, dag_id: str) -> None:
        self.json("PATCH", f"/api/v2/dags/{_q(dag_id)}", json={"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.json("PATCH", f"/api/v2/dags/{_q(dag_id)}", json={"is_paused": True})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.json("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", json=body)

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.json("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.json("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns", params={"limit": 200})["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances"
        return self.json("GET", path)["task_instances"]

    def count_task_instances(self, dag_id: str, state: str) -> int:
        """Task instances of ``dag_id`` in ``state``, across all runs."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/~/taskInstances"
        return self.json("GET", path, params={"state": state, "limit": 1})["total_entries"]

    def count_runs(self, dag_id: str, state: str | None = None, conf_contains: str | None = None) -> int:
        """Runs of ``dag_id`` (in ``state``; whose conf contains ``conf_contains``, e.g. a drill's label)."""
        params: dict[str, Any] = {"limit": 1}
        if state:
            params["state"] = state
        if conf_contains:
            params["conf_contains"] = conf_contains
        return self.json("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns", params=params)["total_entries"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/xcomEntries/{_q(key)}"
        return self.json("GET", path, params={"deserialize": True})["value"]

    def asset_state(self, asset_id: int) -> dict[str, Any]:
        return self.json("GET", f"/api/v2/assets/{asset_id}/state-store")

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return self.json("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}")

    def task_tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/tries"
        return self.json("GET", path)["task_instances"]

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> Any:
        """Mark a task instance as a user does from the UI (e.g. "failed" on a deferred task)."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
        return self.json("PATCH", path, json={"new_state": state})

    def links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        """Extra link name -> URL, as the UI shows them on the task instance."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/links"
        return self.json("GET", path)["extra_links"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{try_number}"
        data = self.json("GET", path, params={"full_content": True}, headers={"Accept": "application/json"})
        content = data.get("content")
        if not isinstance(content, list):
            return str(content)
        return "\n".join(_log_line(item) for item in content)

    def asset_events(self, asset_id: int) -> list[dict[str, Any]]:
        return self.json("GET", "/api/v2/assets/events", params={"asset_id": asset_id})["asset_events"]

    def assets(self, name_pattern: str | None = None) -> list[dict[str, Any]]:
        params = {"name_pattern": name_pattern} if name_pattern else {}
        return self.json("GET", "/api/v2/assets", params=params)["assets"]

    # -- waiting --------------------------------------------------------------------------------------
    def wait_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 180,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
        interval: float = 1.0,
    ) -> dict[str, Any]:
        """Poll the run until it ends; ``on_poll`` sees every poll (e.g. to record task states)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if on_poll is not None:
                on_poll(run)
            if run["state"] in RUN_ENDED:
                return run
            if time.monotonic() > deadline:
                states = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                raise TimeoutError(f"run {dag_id}/{run_id} still {run['state']} after {timeout:.0f}s; tasks {states}")
            time.sleep(interval)

    def wait_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], timeout: float = 120, interval=0.5
    ) -> dict[str, Any]:
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti["state"] in wanted:
                return ti
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}/{run_id}/{task_id} is {ti['state']}, not in {sorted(wanted)}")
            time.sleep(interval)
