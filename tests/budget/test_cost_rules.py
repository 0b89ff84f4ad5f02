"""The pure rules: prices, the estimate, the budget verdict, the job's own figures, the approval body."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.dataset.tokens import line_tokens, stream_tokens
from airflow_tuning.evaluation.approval_body import approval_body
from airflow_tuning.jobs.cost import (
    ASSUMED_EPOCHS,
    DEFAULT_TUNING_PRICES,
    BudgetExceeded,
    PriceTable,
    UnknownPrice,
    actual_cost,
    check_budget,
    compact_data_stats,
    estimate,
    model_key,
    normalize_prices,
)
from airflow_tuning.jobs.summary import summarize


def test_price_table_ships_every_tunable_gemini_model_and_reads_their_spellings():
    assert set(DEFAULT_TUNING_PRICES) == {
        "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-2.0-flash-lite"}
    table = PriceTable.build()
    assert table.lookup("publishers/google/models/gemini-2.0-flash-001")[:2] == ("gemini-2.0-flash", 3.0)
    assert table.lookup("gemini-2_5-flash-lite")[:2] == ("gemini-2.5-flash-lite", 1.5)  # Vertex label form
    assert table.lookup("gemini-2.5-flash-lite")[1] != table.lookup("gemini-2.5-flash")[1]
    assert table.lookup("gemini-9-ultra") is None
    assert model_key("models/Gemini-2.5-Pro") == "gemini-2.5-pro"


def test_overrides_apply_in_order_and_bad_ones_name_the_source():
    table = PriceTable.build(("connection", {"gemini-2.5-flash": 4.0, "my-model": 2.0}),
                             ("operator", normalize_prices('{"gemini-2.5-flash": 3.5}', source="tuning_prices")))
    assert table.lookup("gemini-2.5-flash")[1:] == (3.5, "operator")
    assert table.lookup("my-model")[1:] == (2.0, "connection")
    with pytest.raises(ValueError, match=r"tuning_prices\['gemini-2.5-flash'\] must be a non-negative"):
        normalize_prices({"gemini-2.5-flash": -1}, source="tuning_prices")
    with pytest.raises(ValueError, match="tuning_prices is not valid JSON"):
        normalize_prices("{", source="tuning_prices")


def test_estimate_is_tokens_times_epochs_and_over_budget_names_estimate_budget_and_method():
    est = estimate(base_model="gemini-2.5-flash", dataset_tokens=200_000, epochs=5, token_source="test file",
                   prices=PriceTable.build(), max_billable_tokens="2000000", max_cost_usd="4")
    assert est.billable_tokens == 1_000_000 and est.cost_usd == 5.0
    with pytest.raises(BudgetExceeded) as err:
        check_budget(est)
    text = str(err.value)
    assert "no job was created" in text and "$5.00 exceeds max_cost_usd=$4.00" in text
    assert "200,000 dataset tokens (test file) x 5 epoch(s) = 1,000,000" in text and "$5 per 1M" in text
    tokens_over = estimate(base_model="x", dataset_tokens=10, epochs=None, token_source="t",
                           prices=PriceTable.build(), max_billable_tokens=29)
    assert tokens_over.epochs == ASSUMED_EPOCHS and tokens_over.epochs_assumed
    with pytest.raises(BudgetExceeded, match="30 billable training tokens exceed max_billable_tokens=29"):
        check_budget(tokens_over)
    check_budget(estimate(base_model="gemini-2.5-pro", dataset_tokens=10, epochs=1, token_source="t",
                          prices=PriceTable.build(), max_cost_usd=1))


@pytest.mark.parametrize("budget", [{"max_billable_tokens": 0}, {"max_billable_tokens": "lots"},
                                    {"max_cost_usd": -1}, {"max_cost_usd": "nan"}, {"max_billable_tokens": True}])
def test_bad_budgets_are_refused_naming_the_argument(budget):
    with pytest.raises(ValueError, match=next(iter(budget))):
        estimate(base_model="gemini-2.5-flash", dataset_tokens=1, epochs=1, token_source="t",
                 prices=PriceTable.build(), **budget)


def test_unknown_model_with_a_cost_budget_is_an_error_but_a_token_budget_alone_is_not():
    with pytest.raises(UnknownPrice, match="gemini-9-ultra.*has no tuning price"):
        estimate(base_model="gemini-9-ultra", dataset_tokens=1, epochs=1, token_source="t",
                 prices=PriceTable.build(), max_cost_usd=10)
    est = estimate(base_model="gemini-9-ultra", dataset_tokens=1, epochs=1, token_source="t",
                   prices=PriceTable.build(), max_billable_tokens=10)
    assert est.cost_usd is None


def test_token_rule_matches_the_validators_and_streams():
    line = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).encode()
    media = b'{"contents":[{"parts":[{"fileData":{"fileUri":"gs://b/x.png"}}],"role":"user"}]}'
    assert line_tokens(line) == len(line) // 4 and line_tokens(b"  \n") == 0
    assert line_tokens(media) == len(media) // 4 + 258
    assert stream_tokens([line + b"\n", b"\n", media]) == (2, len(line) // 4 + len(media) // 4 + 258)


@pytest.mark.parametrize("key,method,path", [
    ("supervisedTuningDataStats", "supervised", ()),
    ("preferenceOptimizationDataStats", "preference", ()),
    ("distillationDataStats", "distillation", ("trainingDatasetStats",)),
])
def test_job_stats_of_every_method_give_billable_tokens_and_cost(key, method, path):
    inner = {"totalBillableTokenCount": "2000000", "tuningDatasetExampleCount": "10",
             "userInputTokenDistribution": {"sum": "5"}}
    block = inner
    for step in reversed(path):
        block = {step: block}
    compact = compact_data_stats({key: block})
    assert compact == {"method": method, key: {"totalBillableTokenCount": 2_000_000, "tuningDatasetExampleCount": 10}}
    cost = actual_cost(compact, "gemini-2.5-pro", PriceTable.build())
    assert cost["billable_tokens"] == 2_000_000 and cost["cost_usd"] == 50.0
    assert compact_data_stats(None) is None and actual_cost(None, "gemini-2.5-pro", PriceTable.build()) is None


def test_summary_reads_the_sdk_tuning_data_stats():
    from google.genai import types

    job = types.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/1", state=types.JobState.JOB_STATE_SUCCEEDED,
        tuning_data_stats=types.TuningDataStats(supervised_tuning_data_stats=types.SupervisedTuningDataStats(
            total_billable_token_count=1234, tuning_dataset_example_count=12, tuning_step_count=3)),
    )
    assert summarize(job)["tuning_data_stats"] == {"method": "supervised", "supervisedTuningDataStats": {
        "totalBillableTokenCount": 1234, "tuningDatasetExampleCount": 12, "tuningStepCount": 3}}


def test_approval_body_shows_metrics_delta_checkpoint_costs_and_report():
    body = approval_body(
        {"metrics": {"rouge_l": 0.9}, "baseline_metrics": {"rouge_l": 0.8}, "delta": {"rouge_l": 0.1},
         "passed": True, "examples": 20, "best_checkpoint": {"checkpoint_id": "2", "epoch": 2},
         "report_uri": "gs://b/reports/r/report.html"},
        {"tuned_model": "projects/p/locations/l/models/1@2",
         "cost": {"cost_usd": 0.012, "billable_tokens": 2400}},
        {"cost_usd": 0.02, "billable_tokens": 4000, "epochs": 2, "base_model": "gemini-2.5-flash"},
        champion="projects/p/locations/l/models/1@champion",
    )
    assert "| rouge_l | 0.900 | 0.800 | +0.100 |" in body
    assert "**Best checkpoint:** 2, epoch 2" in body
    assert "Estimated before the job: $0.0200 for 4,000" in body and "$0.0120 for 2,400" in body
    assert "console.cloud.google.com/storage/browser/_details/b/reports/r/report.html" in body
    assert "models/1@champion" in body
    assert "Approve to move the alias to the challenger" in body
    bare = approval_body(None, None)
    assert "no budget was set" in bare and "No evaluation result" in bare


def test_approval_body_names_the_alias_an_approval_moves():
    body = approval_body({}, {"tuned_model": "projects/p/locations/l/models/1@3"},
                         champion="projects/p/locations/l/models/1@2", alias="champion")
    assert "**Champion (holds `@champion`):** `projects/p/locations/l/models/1@2`" in body
    assert "Approve to move `@champion` to the challenger" in body
    first = approval_body({}, {"tuned_model": "projects/p/locations/l/models/1@1"}, alias="champion")
    assert "holds" not in first and "Approve to move `@champion` to the challenger" in first
