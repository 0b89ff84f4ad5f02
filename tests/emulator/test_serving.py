"""generateContent on tuned endpoints and base models: tuned models answer from their data, and more data
scores measurably better on held-out prompts (ROUGE-L)."""

from __future__ import annotations

import httpx
import pytest
from google.cloud import aiplatform_v1, aiplatform_v1beta1
from google.genai import errors, types
from rouge_score import rouge_scorer

from tests.emulator.helpers import fact, held_out, jsonl, upload, wait_ended


def tuned(client, storage, name, indices, **config):
    uri = upload(storage, "serving", f"{name}.jsonl", jsonl(indices))
    job = client.tunings.tune(
        base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(labels={"suite": "serving", "emulator-duration-ms": "300"}, **config))
    job = wait_ended(client, job.name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    return job


@pytest.fixture(scope="module")
def small(client, storage):
    return tuned(client, storage, "small", range(4))


@pytest.fixture(scope="module")
def full(client, storage):
    return tuned(client, storage, "full", range(20))


def rouge_l(client, model, indices):
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    scores = []
    for i in indices:
        prompt, reference = held_out(i)
        text = client.models.generate_content(model=model, contents=prompt).text
        scores.append(scorer.score(reference, text)["rougeL"].fmeasure)
    return sum(scores) / len(scores)


def test_tuned_endpoint_answers_from_its_training_data(client, full):
    prompt, answer = fact(7)
    response = client.models.generate_content(model=full.tuned_model.endpoint, contents=prompt)
    assert response.text == answer
    usage = response.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count == len(answer.split())
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count


def test_base_model_knows_nothing_of_the_data(client):
    prompt, answer = fact(7)
    text = client.models.generate_content(model="gemini-2.5-flash", contents=prompt).text
    assert text and text != answer
    again = client.models.generate_content(model="publishers/google/models/gemini-2.5-flash", contents=prompt).text
    assert again == text  # deterministic
    assert client.models.generate_content(model="models/gemini-2.5-flash", contents=prompt).text == text
    assert client.models.count_tokens(model="gemini-2.5-flash", contents=prompt).total_tokens == len(prompt.split())


def test_more_data_scores_higher_than_less_and_than_the_base_model(client, small, full):
    held = range(20)
    base = rouge_l(client, "gemini-2.5-flash", held)
    little = rouge_l(client, small.tuned_model.endpoint, held)
    lots = rouge_l(client, full.tuned_model.endpoint, held)
    assert base < little < lots
    assert lots > 0.9


def test_earlier_checkpoints_know_less(client, full):
    first, last = full.tuned_model.checkpoints[0].endpoint, full.tuned_model.checkpoints[-1].endpoint
    assert rouge_l(client, first, range(20)) < rouge_l(client, last, range(20))


def test_streaming_yields_the_same_answer_in_chunks(client, full):
    prompt, answer = fact(3)
    chunks = list(client.models.generate_content_stream(model=full.tuned_model.endpoint, contents=prompt))
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == answer
    assert chunks[-1].usage_metadata.total_token_count > 0


async def test_async_generate(client, full):
    prompt, answer = fact(11)
    response = await client.aio.models.generate_content(model=full.tuned_model.endpoint, contents=prompt)
    assert response.text == answer


def test_max_output_tokens_truncates(client, full):
    response = client.models.generate_content(
        model=full.tuned_model.endpoint, contents=fact(2)[0],
        config=types.GenerateContentConfig(max_output_tokens=3))
    assert len(response.text.split()) == 3
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_registry_model_version_serves_like_its_endpoint(client, full):
    prompt, answer = fact(5)
    assert client.models.generate_content(model=full.tuned_model.model, contents=prompt).text == answer


@pytest.mark.parametrize("version, module", [("v1beta1", aiplatform_v1beta1), ("v1", aiplatform_v1)])
def test_responses_parse_strictly(emu, full, version, module):
    body = {"contents": [{"role": "user", "parts": [{"text": fact(1)[0]}]}]}
    for target in (full.tuned_model.endpoint, f"projects/{emu.project}/locations/{emu.location}/"
                                              "publishers/google/models/gemini-2.5-pro"):
        response = httpx.post(f"{emu.api_url}/{version}/{target}:generateContent", json=body, timeout=10)
        assert response.status_code == 200
        module.types.GenerateContentResponse.from_json(response.text, ignore_unknown_fields=False)
        stream = httpx.post(f"{emu.api_url}/{version}/{target}:streamGenerateContent?alt=sse", json=body, timeout=10)
        frames = [f for f in stream.text.split("\r\n\r\n") if f]
        assert frames and all(f.startswith("data: ") for f in frames)
        for frame in frames:
            module.types.GenerateContentResponse.from_json(frame[len("data: "):], ignore_unknown_fields=False)


def test_unknown_endpoint_is_404(emu, client):
    with pytest.raises(errors.ClientError) as err:
        client.models.generate_content(model=f"projects/{emu.project}/locations/{emu.location}/endpoints/42",
                                       contents="hi")
    assert err.value.code == 404


def test_empty_contents_is_400(emu, full):
    response = httpx.post(f"{emu.api_url}/v1beta1/{full.tuned_model.endpoint}:generateContent",
                          json={"contents": []}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["status"] == "INVALID_ARGUMENT"
