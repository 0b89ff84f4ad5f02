"""The promotion record: what it keeps in a version's description, and the rollback decision it drives."""

from __future__ import annotations

import pytest

from airflow_tuning.evaluation.promotion_record import (
    AUTOMATIC_GATE,
    MAX_EVENTS,
    SEPARATOR,
    NoEarlierHolder,
    PromotionEvent,
    append_event,
    parse_description,
    rollback_plan,
    who_decided,
)

M = "projects/p/locations/l/models/7"


def event(kind="promotion", model=f"{M}@2", previous=f"{M}@1", checkpoint="3", **kw) -> PromotionEvent:
    return PromotionEvent(kind=kind, alias="champion", model=model, checkpoint_id=checkpoint,
                          previous_model=previous, previous_checkpoint_id="1" if previous else None,
                          by=kw.pop("by", AUTOMATIC_GATE), reason=kw.pop("reason", None),
                          at="2026-12-05T11:00:00+00:00", dag_id="d", run_id="r", **kw)


def test_record_keeps_the_users_description_and_reads_back():
    text = append_event("Triage model for the data platform", event(
        evaluation={"metrics": {"rouge_l": 0.9}, "baseline_metrics": {"rouge_l": 0.8}}))
    assert text.startswith("Triage model for the data platform\n" + SEPARATOR)
    assert "promotion to 'champion' (checkpoint 3) by automatic gate in d/r; before:" in text
    assert "rouge_l 0.900 vs 0.800 (+0.100)" in text
    own, events = parse_description(append_event(text, event(kind="rollback", model=f"{M}@1", previous=f"{M}@2")))
    assert own == "Triage model for the data platform"
    assert [e.kind for e in events] == ["promotion", "rollback"]
    assert events[0].evaluation["metrics"]["rouge_l"] == 0.9
    assert parse_description(None) == ("", []) and parse_description("plain text") == ("plain text", [])


def test_record_keeps_the_newest_events_only():
    text = ""
    for i in range(MAX_EVENTS + 5):
        text = append_event(text, event(reason=f"r{i}"))
    _, events = parse_description(text)
    assert len(events) == MAX_EVENTS and events[-1].reason == f"r{MAX_EVENTS + 4}"


def test_who_decided_reads_the_approval_operators_result():
    approved = {"chosen_options": ["Approve"], "params_input": {},
                "responded_by_user": {"id": "admin", "name": "Ada Admin"}}
    assert who_decided(approved) == ("approver Ada Admin", {"id": "admin", "name": "Ada Admin"})
    assert who_decided(None) == (AUTOMATIC_GATE, None)
    assert who_decided(None, "release manager") == ("release manager", None)
    assert who_decided({"chosen_options": ["Reject"]})[0] == AUTOMATIC_GATE


def test_rollback_plan_targets_the_previous_holder_and_checkpoint():
    plan = rollback_plan(f"{M}@2", "champion", [event()])
    assert (plan.target_model, plan.checkpoint_id, plan.done_already) == (f"{M}@1", "1", False)
    done = rollback_plan(f"{M}@1", "champion", [event(), event(kind="rollback", model=f"{M}@1", previous=f"{M}@2")])
    assert done.done_already and "already holds" in done.message


def test_rollback_plan_refuses_without_an_earlier_holder():
    with pytest.raises(NoEarlierHolder, match="first version to hold it"):
        rollback_plan(f"{M}@1", "champion", [event(model=f"{M}@1", previous=None)])
    with pytest.raises(NoEarlierHolder, match="carries no promotion record"):
        rollback_plan(f"{M}@5", "champion", [])
    with pytest.raises(NoEarlierHolder, match="carries no promotion record"):
        rollback_plan(f"{M}@5", "staging", [event()])  # records of another alias do not count
