"""Reading a finished ``dag.test()`` run's results from the metadata DB, for every test package."""

from __future__ import annotations

from typing import Any


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    """A task's XCom value (None when the task pushed nothing under ``key``)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key=key, map_index=-1)
            .one_or_none()
        )
        return XComModel.deserialize_value(row) if row is not None else None


def task_state(run: Any, task_id: str) -> str:
    return str(run.get_task_instance(task_id).state)


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
