"""The AIP-160 list filter the emulator accepts, as Vertex AI reads it."""

from __future__ import annotations

import pytest

from airflow_tuning.emulator import filters
from airflow_tuning.emulator.wire import ApiError

FIELDS = filters.spellings("state", "displayName")


def check(text: str, state: str = "JOB_STATE_RUNNING", labels: dict | None = None, name: str = "m") -> bool:
    values = {"state": state, "displayName": name}
    return filters.matches(filters.parse(text, FIELDS), values.get, labels or {})


def test_or_binds_tighter_than_and_and_terms_side_by_side_mean_and():
    text = 'labels.a="1" OR labels.b="1" state="JOB_STATE_RUNNING"'
    assert check(text, labels={"b": "1"})
    assert not check(text, state="JOB_STATE_FAILED", labels={"a": "1"})
    assert check('labels.a="1" AND labels.b="1" OR labels.c="1"', labels={"a": "1", "c": "1"})


def test_not_minus_parentheses_and_map_functions():
    assert check('NOT labels.a="1"', labels={"a": "2"})
    assert check('-labels.a:*', labels={})
    assert not check('(labels.a="1" OR labels.b="1") AND NOT state="JOB_STATE_RUNNING"', labels={"a": "1"})
    assert check('labels:team', labels={"team": ""})
    assert check('labels."a key"="v"', labels={"a key": "v"})
    assert check('display_name="fine-*"', name="fine-tuned") and not check('displayName="fine"', name="fine-tuned")
    assert check("state!=JOB_STATE_FAILED")


@pytest.mark.parametrize("text", ['labels.a="1" OR', "(state=x", "colour=red", "labels=x", "state", '"x"=1',
                                  "state=x)", "AND state=x"])
def test_bad_filters_are_invalid_argument_naming_the_problem(text):
    with pytest.raises(ApiError) as raised:
        filters.parse(text, FIELDS)
    assert raised.value.code == 400 and text in raised.value.message


def test_empty_filter_matches_everything():
    assert check("") and check("   ")
