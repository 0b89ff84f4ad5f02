"""What google-genai's Developer-API client does with tuning, checked on the installed version.

Its ``tunings.tune`` builds the create request without the training examples, which is why the backend
sends ``tunedModels.create`` over REST itself. If a google-genai upgrade starts sending them, the first test
fails: the REST create can then give way to the SDK. (Generation on a tuned model does work through it:
see test_backend.)
"""

from __future__ import annotations

import warnings

import pytest

from tests.gemini_api.number_sequence import BASE_MODEL, PAIRS


def test_developer_api_tune_drops_the_training_examples(genai_client, emulator):
    from google.genai import errors, types

    dataset = types.TuningDataset(examples=[types.TuningExample(text_input=i, output=o) for i, o in PAIRS])
    before = emulator.stats()["requests"].get("POST /v1beta/tunedModels", 0)
    with warnings.catch_warnings(), pytest.raises(errors.ClientError) as caught:
        warnings.simplefilter("ignore")
        genai_client.tunings.tune(
            base_model=BASE_MODEL,
            training_dataset=dataset,
            config=types.CreateTuningJobConfig(epoch_count=5, batch_size=2, learning_rate=0.001,
                                               tuned_model_display_name="sdk tune"),
        )
    # The request reached the API without tuningTask.trainingData: the 15 examples were left out.
    assert emulator.stats()["requests"]["POST /v1beta/tunedModels"] == before + 1
    assert caught.value.code == 400
    assert "training_data must be an object" in caught.value.message


def test_developer_api_tunings_list_is_not_available(genai_client):
    with pytest.raises(ValueError, match="only supported in Gemini Enterprise Agent Platform mode"):
        list(genai_client.tunings.list())

