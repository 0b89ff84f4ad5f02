"""The logical model's label and the operator's argument checks: pure, no emulator needed."""

from __future__ import annotations

import re

import pytest

from airflow_tuning.jobs.logical_model import MODEL_LABEL, model_label_value, with_model_label

VALUE = re.compile(r"^[a-z0-9_-]{1,63}$")


def test_a_display_name_in_the_label_grammar_is_its_own_label_value():
    assert model_label_value("support-triage") == "support-triage"
    assert with_model_label({"team": "ml"}, "support-triage") == {"team": "ml", MODEL_LABEL: "support-triage"}


FOLDED = ["Support Triage", "support triage", "Triage (EU) v2", "ü" * 10, "x" * 128, "x" * 127 + "X", "-"]


@pytest.mark.parametrize("name", FOLDED)
def test_other_display_names_fold_into_valid_label_values(name):
    value = model_label_value(name)
    assert VALUE.match(value), value
    assert value == model_label_value(name)


def test_folded_values_are_distinct():
    assert len({model_label_value(name) for name in FOLDED}) == len(FOLDED)


def test_folding_never_merges_two_names():
    assert model_label_value("Support Triage") != model_label_value("support-triage")
    assert model_label_value("Support Triage") != model_label_value("support triage")


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 129, "tab\there"])
def test_a_bad_display_name_is_refused_naming_the_argument(name):
    with pytest.raises(ValueError, match="tuned_model_display_name"):
        model_label_value(name)


def test_a_contradicting_user_label_is_refused():
    with pytest.raises(ValueError, match="logical_model"):
        with_model_label({MODEL_LABEL: "other"}, "support-triage")
    assert with_model_label({MODEL_LABEL: "support-triage"}, "support-triage")[MODEL_LABEL] == "support-triage"


BASE = {"task_id": "t", "training_dataset_uri": "gs://b/t.jsonl"}


@pytest.mark.parametrize(
    ("extra", "error", "text"),
    [
        ({"base_model": "gemini-2.5-flash"}, TypeError, "tuned_model_display_name"),
        ({"tuned_model_display_name": "m"}, TypeError, "base_model"),
        ({"tuned_model_display_name": "m", "base_model": "gemini-2.5-flash", "pre_tuned_model": "x"}, TypeError,
         "pre_tuned_model"),
        ({"tuned_model_display_name": "m", "base_model": "gemini-2.5-flash", "checkpoint_id": "2"}, TypeError,
         "checkpoint_id"),
        ({"tuned_model_display_name": "m", "base_model": "gemini-2.5-flash", "continue_from_alias": "Champ ion"},
         ValueError, "continue_from_alias"),
        ({"tuned_model_display_name": "m", "base_model": "models/gemini-1.5-flash-001-tuning",
          "backend": "gemini_api"}, ValueError, "vertex"),
    ],
)
def test_continue_from_alias_arguments_are_checked_when_the_dag_is_parsed(extra, error, text):
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    kwargs = {**BASE, "continue_from_alias": "champion", **extra}
    if kwargs.get("backend") == "gemini_api":
        kwargs.pop("training_dataset_uri")
    with pytest.raises(error, match=text):
        CreateTuningJobOperator(**kwargs)


def test_a_templated_alias_is_checked_when_rendered():
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    op = CreateTuningJobOperator(
        **BASE, tuned_model_display_name="m", base_model="gemini-2.5-flash", continue_from_alias="{{ params.a }}"
    )
    assert "continue_from_alias" in op.template_fields
