"""The tuning methods Vertex AI accepts: one spec per method on the create request, and what each learns.

``supervisedTuningSpec``, ``preferenceOptimizationSpec`` and ``distillationSpec`` are the request fields
google-genai fills from ``CreateTuningJobConfig.method``. The installed protos (google-cloud-aiplatform
2.7) know ``DistillationSpec`` in v1beta1 only and no ``PreferenceOptimizationSpec``; the fields accepted
here are the union of those protos and what google-genai 2.34 sends (``promptDatasetUri``, ``beta``,
``sftLossWeightMultiplier``, ``tuningMode``...), and anything else is refused as Vertex refuses an unknown
field. Data: supervised examples, preference pairs (the model learns the preferred completion) and prompts
(the student learns what the teacher answers). Each method reports its own ``tuningDataStats`` variant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_tuning.emulator.datasets import (
    Dataset,
    DatasetError,
    _distribution,
    data_stats,
    parse_dataset,
    steps_per_epoch,
)
from airflow_tuning.emulator.learner import count_tokens, generic_reply
from airflow_tuning.emulator.wire import int64

_COMMON_SPEC = {"trainingDatasetUri", "validationDatasetUri", "hyperParameters", "exportLastCheckpointOnly",
                "evaluationConfig"}
_COMMON_HYPER = {"epochCount", "learningRateMultiplier", "adapterSize"}


@dataclass(frozen=True)
class Method:
    name: str
    spec: str  # the request field
    fields: frozenset[str]
    hyper: frozenset[str]
    dataset_fields: tuple[str, ...]  # where the training data URI may be (first present wins)
    stats_key: str


SUPERVISED = Method("supervised", "supervisedTuningSpec", frozenset(_COMMON_SPEC | {"tuningMode"}),
                    frozenset(_COMMON_HYPER | {"learningRate", "batchSize"}), ("trainingDatasetUri",),
                    "supervisedTuningDataStats")
PREFERENCE = Method("preference", "preferenceOptimizationSpec", frozenset(_COMMON_SPEC),
                    frozenset(_COMMON_HYPER | {"beta"}), ("trainingDatasetUri",),
                    "preferenceOptimizationDataStats")
DISTILLATION = Method(
    "distillation", "distillationSpec",
    frozenset(_COMMON_SPEC | {"promptDatasetUri", "baseTeacherModel", "tunedTeacherModelSource", "studentModel",
                              "pipelineRootDirectory", "tuningMode"}),
    frozenset(_COMMON_HYPER | {"learningRate", "batchSize", "sftLossWeightMultiplier"}),
    ("promptDatasetUri", "trainingDatasetUri"), "distillationDataStats",
)
METHODS = {m.spec: m for m in (SUPERVISED, PREFERENCE, DISTILLATION)}


def method_of(request: dict[str, Any]) -> tuple[Method, dict[str, Any]]:
    """The request's method and its spec (the request was validated: exactly one spec is present)."""
    for key, method in METHODS.items():
        if isinstance(request.get(key), dict):
            return method, request[key]
    raise KeyError("no tuning spec")


def training_uri(method: Method, spec: dict[str, Any]) -> Any:
    for field in method.dataset_fields:
        if spec.get(field) is not None:
            return spec[field]
    return None


def parse(method: Method, uri: str, data: bytes, teacher: Any = None) -> Dataset:
    """The method's data, checked line by line (DatasetError names the file and line)."""
    if method is SUPERVISED:
        return parse_dataset(uri, data)
    from airflow_tuning.dataset.preference import check_preference, check_prompts, preference_pair
    from airflow_tuning.dataset.validation import InvalidExample

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_no = data[: err.start].count(b"\n") + 1
        raise DatasetError(f"Invalid dataset {uri}: line {line_no}: not valid UTF-8.") from None
    dataset = Dataset(uri, [], [], [], [], [], len(text))
    scores: list[int] = []
    samples: list[dict[str, Any]] = []  # the first examples, for the stats' userDatasetExamples
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if method is PREFERENCE:
                example = check_preference(obj)
                prompt, chosen, rejected = preference_pair(example)
                answer, answers = chosen, [chosen, rejected]
                scores.extend((1, 0))
            else:
                example = check_prompts(obj)
                prompt = "\n".join(p["text"] for t in example["contents"] for p in t["parts"])
                answer = teacher(prompt) if teacher else ""
                answers = [answer]
        except (ValueError, InvalidExample) as err:
            raise DatasetError(f"Invalid dataset {uri}: line {line_no}: {err}.") from None
        dataset.examples.append((prompt, answer))
        if len(samples) < 3:
            samples.append(example)
        dataset.user_tokens.append(count_tokens(prompt))
        dataset.model_tokens.append(sum(count_tokens(a) for a in answers))
        dataset.user_messages.append(sum(1 for t in example["contents"] if t["role"] == "user"))
    if not dataset.examples:
        raise DatasetError(f"Invalid dataset {uri}: the file contains no examples.")
    setattr(dataset, "scores", scores)  # noqa: B010 - extra facts of the method's data, beside Dataset's
    setattr(dataset, "samples", samples)  # noqa: B010
    return dataset


def stats(method: Method, dataset: Dataset, epochs: int) -> dict[str, Any]:
    """``tuningDataStats`` with the variant the method reports, named as the API names it."""
    if method is SUPERVISED:
        return data_stats(dataset, epochs)
    examples = len(dataset.examples)
    tokens = sum(dataset.user_tokens) + sum(dataset.model_tokens)
    common = {
        "tuningDatasetExampleCount": int64(examples),
        "totalBillableTokenCount": int64(tokens * epochs),
        "tuningStepCount": int64(steps_per_epoch(examples) * epochs),
        "userInputTokenDistribution": _distribution(dataset.user_tokens),
        "userOutputTokenDistribution": _distribution(dataset.model_tokens),
    }
    if method is PREFERENCE:
        scores = getattr(dataset, "scores", []) or [0]
        return {"preferenceOptimizationDataStats": {
            **common,
            "scoresDistribution": _distribution(scores),
            "userDatasetExamples": [
                {"contents": e["contents"], "completions": e["completions"]}
                for e in getattr(dataset, "samples", [])[:1]
            ],
            "droppedExampleIndices": [],
        }}
    return {"distillationDataStats": {"trainingDatasetStats": {
        "totalBillableCharacterCount": int64(dataset.characters),
        "totalTuningCharacterCount": int64(dataset.characters),
        "tuningDatasetExampleCount": int64(examples),
        "tuningStepCount": int64(steps_per_epoch(examples) * epochs),
        "userInputTokenDistribution": _distribution(dataset.user_tokens),
        "userOutputTokenDistribution": _distribution(dataset.model_tokens),
        "userMessagePerExampleDistribution": _distribution(dataset.user_messages),
        "userDatasetExamples": [
            {"role": t["role"], "parts": t["parts"]} for s in getattr(dataset, "samples", [])[:1] for t in s["contents"]
        ],
    }}}


def teacher_for(spec: dict[str, Any], store: Any, parent: str) -> Any:
    """The emulated teacher's reply function: a base model answers as every emulated base model does; a
    tuned teacher (``tunedTeacherModelSource``) as its default checkpoint does. None when it does not exist.
    """
    from airflow_tuning.emulator import checkpoints, registry
    from airflow_tuning.emulator.learner import Learner

    model = str(spec.get("baseTeacherModel") or "").rsplit("/", 1)[-1]
    if model:
        return lambda prompt: generic_reply(model, prompt)
    try:
        found, ref = registry.find_model(store, parent, str(spec.get("tunedTeacherModelSource") or ""))
        endpoint = store.endpoints[registry.default_endpoint(registry.find_version(found, ref))]
    except Exception:
        return None
    examples = [(u, m) for job, limit in endpoint["sources"] for u, m in store.examples.get(job, [])[:limit]]
    learner, base = Learner(examples), endpoint["baseModel"].rsplit("/", 1)[-1]

    def reply(prompt: str) -> str:
        answer = checkpoints.answer(learner, prompt, endpoint.get("overfit", 0))
        return answer if answer is not None else generic_reply(base, prompt)

    return reply
