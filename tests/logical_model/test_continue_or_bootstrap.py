"""Continue-or-bootstrap and one champion per display name, through dag.test() against the emulator."""

from __future__ import annotations

import pytest

from tests.logical_model.conftest import states, xcom


def _retrain(registry, test_id, model, **conf):
    from tests.dags import logical_model

    return logical_model.retrain_dag.test(
        run_conf={"model": model, "train": registry.train, "test_id": test_id, **conf}
    )


def test_bootstrap_then_continue_adds_versions_to_one_model(registry, emulator, test_id):
    model = f"lm-{test_id}"
    first = _retrain(registry, test_id, model)
    assert first.state == "success", states(first)
    tuned1 = xcom(first, "tune")
    assert tuned1["continued_from"] is None and tuned1["base_model"] == "gemini-2.5-flash"
    assert registry.holders(model) == [tuned1["tuned_model"]]

    second = _retrain(registry, test_id, model)
    assert second.state == "success", states(second)
    tuned2 = xcom(second, "tune")
    assert tuned2["continued_from"] == tuned1["tuned_model"]  # the pinned version, not "@champion"
    (registry_model,) = registry.models(model)
    assert registry.versions(registry_model) == [tuned1["tuned_model"], tuned2["tuned_model"]]
    assert registry.holders(model) == [tuned2["tuned_model"]]
    assert xcom(second, "promote")["previous_model"] == tuned1["tuned_model"]

    jobs = emulator.jobs(labels={"lm-test": test_id})
    assert len(jobs) == 2 and {j["labels"]["logical_model"] for j in jobs} == {model}
    continued = next(j for j in jobs if j.get("preTunedModel"))
    assert continued["preTunedModel"]["tunedModelName"] == tuned1["tuned_model"]


def test_duplicate_display_name_continues_from_the_one_holding_the_alias(registry, test_id):
    model = f"lm-{test_id}"
    other, holder = registry.tune(model), registry.tune(model)
    registry.give_alias(holder)
    run = _retrain(registry, test_id, model)
    assert run.state == "success", states(run)
    tuned = xcom(run, "tune")
    assert tuned["continued_from"] == holder
    assert tuned["tuned_model"].split("@")[0] == holder.split("@")[0]  # a new version of the holder's model
    assert len(registry.models(model)) == 2 and other.split("@")[0] in registry.models(model)
    assert registry.holders(model) == [tuned["tuned_model"]]


def test_duplicate_display_name_without_holder_bootstraps_and_keeps_one_champion(registry, test_id):
    model = f"lm-{test_id}"
    registry.tune(model), registry.tune(model)
    run = _retrain(registry, test_id, model)
    assert run.state == "success", states(run)
    tuned = xcom(run, "tune")
    assert tuned["continued_from"] is None
    assert len(registry.models(model)) == 3
    assert registry.holders(model) == [tuned["tuned_model"]]


def test_two_models_holding_the_alias_is_refused_before_any_job(registry, emulator, test_id):
    model = f"lm-{test_id}"
    first, second = registry.tune(model), registry.tune(model)
    registry.give_alias(first), registry.give_alias(second)
    created = emulator.stats()["jobs_created"]
    run = _retrain(registry, test_id, model)
    assert run.state == "failed"
    assert states(run)["tune"] == "failed" and states(run)["promote"] == "upstream_failed"
    message = xcom(run, "tune", "failure")
    assert "ambiguous" in message and first in message and second in message and "PromoteTunedModelOperator" in message
    assert emulator.stats()["jobs_created"] == created
    assert registry.holders(model) == sorted([first, second])
    with pytest.raises(ValueError, match="ambiguous"):
        registry.hook.find_model_alias(model)


def test_promotion_takes_the_alias_off_a_same_named_model_and_rolls_back(registry, test_id):
    from tests.dags import logical_model

    model = f"lm-{test_id}"
    old, new = registry.tune(model), registry.tune(model)
    registry.give_alias(old)
    run = logical_model.promote_dag.test(run_conf={"model_name": new})
    assert run.state == "success", states(run)
    promoted = xcom(run, "promote")
    assert promoted["model"] == new and promoted["changed"] is True
    assert promoted["previous_model"] == old  # the holder on the other registry model: the rollback target
    assert registry.holders(model) == [new]

    back = logical_model.promote_dag.test(run_conf={"model_name": promoted["previous_model"]})
    assert back.state == "success", states(back)
    assert xcom(back, "promote")["previous_model"] == new
    assert registry.holders(model) == [old]

    again = logical_model.promote_dag.test(run_conf={"model_name": old})
    assert xcom(again, "promote")["changed"] is False and registry.holders(model) == [old]


def test_a_retry_keeps_its_first_decision_when_the_champion_moved(registry, emulator, test_id):
    model = f"lm-{test_id}"
    v1 = registry.tune(model)
    registry.give_alias(v1)
    v2 = registry.tune(None, pre_tuned_model=v1)  # a second version that does not hold the alias
    assert v2.split("@")[0] == v1.split("@")[0]
    created = emulator.stats()["jobs_created"]

    run = _retrain(registry, test_id, model, crash=True, move_to=v2)
    assert run.state == "success", states(run)
    assert run.get_task_instance("tune").try_number == 2
    assert emulator.stats()["jobs_created"] - created == 1  # the retry reattached instead of re-resolving
    tuned = xcom(run, "tune")
    assert tuned["continued_from"] == v1
    (job,) = emulator.jobs(labels={"lm-test": test_id})
    assert job["name"] == tuned["tuning_job"] and job["preTunedModel"]["tunedModelName"] == v1
