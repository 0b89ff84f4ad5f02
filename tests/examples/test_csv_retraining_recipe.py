"""The README's recipe "Weekly retraining from a CSV export" is dags/csv_retraining.py, and it works:
one logical model, one registry model gaining a version per week, one champion after every run."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from tests.examples.conftest import fresh_dag, states, xcom

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "dags" / "csv_retraining.py"
MODEL = "ticket-triage"
EXPORTS = "exports/ticket-triage"


def readme_recipe() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Weekly retraining from a CSV export\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the recipe section has no python block"
    return match.group(1)


def test_readme_recipe_is_the_shipped_dag_file_verbatim():
    assert readme_recipe() == RECIPE.read_text()


def weekly_exports(weeks: int) -> list[str]:
    """The demo's ticket CSV cut into weekly exports, each with the header, as a ticketing system writes them."""
    rows = list(csv.reader((REPO / "demo" / "data" / "new_tickets.csv").open(newline="")))
    header, body = rows[0], rows[1:]
    size = len(body) // weeks
    exports = []
    for week in range(weeks):
        out = io.StringIO()
        csv.writer(out).writerows([header, *body[week * size : (week + 1) * size]])
        exports.append(out.getvalue())
    return exports


def test_three_weekly_runs_one_registry_model_three_versions_one_champion(bucket, gemini_conn):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    registry = hook.get_model_service_client()
    parent = f"projects/{hook.project}/locations/{hook.location}"

    def models() -> list[str]:
        return [m.name for m in registry.list_models(request={"parent": parent, "filter": f'display_name="{MODEL}"'})]

    def champions(model: str) -> list[str]:
        versions = registry.list_model_versions(name=model)
        return [f"{model}@{v.version_id}" for v in versions if "champion" in v.version_aliases]

    exports = weekly_exports(4)
    champion = None
    for week in (1, 2, 3):
        bucket.blob(f"{EXPORTS}/week-{week}.csv").upload_from_string(exports[week - 1], content_type="text/csv")
        run = fresh_dag("csv_retraining").test()
        assert run.state == "success" and states(run)["promote"] == "success", states(run)
        tuned = xcom(run, "tune")
        assert tuned["continued_from"] == champion  # None at bootstrap, then last week's champion version
        (model,) = models()
        assert len(list(registry.list_model_versions(name=model))) == week
        assert champions(model) == [tuned["tuned_model"]]
        evaluation = xcom(run, "evaluate")
        assert evaluation["passed"] and evaluation["metrics"]["rouge_l"] >= evaluation["baseline_metrics"]["rouge_l"]
        champion = tuned["tuned_model"]
    assert len(gemini_conn.jobs(labels={"logical_model": MODEL})) == 3

    # Week 4: the challenger does not beat the champion by the margin asked: the champion stays in place.
    bucket.blob(f"{EXPORTS}/week-4.csv").upload_from_string(exports[3], content_type="text/csv")
    run = fresh_dag("csv_retraining").test(run_conf={"min_improvement": 0.5})
    assert run.state == "success", states(run)
    assert states(run)["evaluate"] == "skipped" and states(run)["promote"] == "skipped"
    loser = xcom(run, "tune")
    assert loser["continued_from"] == champion
    (model,) = models()
    assert len(list(registry.list_model_versions(name=model))) == 4
    assert champions(model) == [champion]

    # The new-data variant is the same pipeline on a watched asset; here it sees unchanged data and skips.
    import importlib

    module = importlib.import_module("dags.csv_retraining")
    on_new_data = module.on_new_data
    assert set(on_new_data.task_ids) == set(module.dag.task_ids)
    (asset,) = on_new_data.timetable.asset_condition.objects
    assert asset.uri.rstrip("/") == f"gs://tuning-data/{EXPORTS}"
    (watcher,) = asset.watchers
    assert watcher.trigger.serialize()[1]["prefix"] == f"{EXPORTS}/"
    skipped = on_new_data.test()
    assert skipped.state == "success" and states(skipped)["tune"] == "skipped"
    assert champions(model) == [champion]
