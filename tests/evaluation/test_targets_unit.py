"""Cases the emulator cannot produce: an undeployed model version, and unusual generateContent answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_tuning.evaluation.generation import build_config, response_text
from airflow_tuning.evaluation.targets import ModelResolutionError, qualify, resolve_target


class _UndeployedRegistry:
    """Stands in for ModelServiceClient: the version exists but serves nowhere."""

    def get_model(self, name, **_):
        return SimpleNamespace(deployed_models=[], version_id="3")


def test_model_without_an_endpoint_is_a_clear_error():
    with pytest.raises(
        ModelResolutionError, match=r"projects/p/locations/l/models/9@3 is not deployed to any endpoint"
    ):
        resolve_target("models/9@champion", project="p", location="l", model_client=_UndeployedRegistry())


def test_model_name_needs_a_registry_client():
    with pytest.raises(ModelResolutionError, match="needs a Model Registry client"):
        resolve_target("models/9@1", project="p", location="l")


def test_qualify_expands_short_names_only():
    assert qualify(" models/9@1 ", "p", "l") == "projects/p/locations/l/models/9@1"
    assert qualify("endpoints/5", "p", "l") == "projects/p/locations/l/endpoints/5"
    assert qualify("gemini-2.5-flash", "p", "l") == "gemini-2.5-flash"


def test_response_text_skips_thoughts_and_treats_blocked_answers_as_empty():
    from google.genai import types

    def response(**candidate):
        return types.GenerateContentResponse(candidates=[types.Candidate(**candidate)] if candidate else [])

    parts = [types.Part(text="thinking...", thought=True), types.Part(text="Paris"), types.Part(text=" it is")]
    assert response_text(response(content=types.Content(role="model", parts=parts))) == "Paris it is"
    assert response_text(response(finish_reason="SAFETY")) == ""
    assert response_text(response()) == ""


def test_generation_config_is_deterministic_with_user_overrides_and_system_prompt():
    from airflow_tuning.evaluation.dataset import EvalExample

    example = EvalExample(1, [{"role": "user", "parts": [{"text": "q"}]}], "a", {"parts": [{"text": "Be brief."}]})
    config = build_config(example, {"max_output_tokens": 64, "seed": 7})
    assert (config.temperature, config.candidate_count, config.seed, config.max_output_tokens) == (0.0, 1, 7, 64)
    assert config.system_instruction.parts[0].text == "Be brief."
    assert config.automatic_function_calling.disable is True
