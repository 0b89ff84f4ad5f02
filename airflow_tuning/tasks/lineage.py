"""OpenLineage for every task of this provider: which data trained which model, and where it was promoted.

Tasks describe what they read and wrote as :class:`Ref` values (namespace and name, no OpenLineage type), and
call :func:`operator_lineage` from ``get_openlineage_facets_on_complete``. Only that function imports
OpenLineage (``apache-airflow-providers-openlineage``), so parsing a DAG never pays for it, and without
the provider it returns None: the tasks run the same either way.

Naming follows OpenLineage's dataset naming spec where it has an entry, and its rule (namespace = the
datasource, name = the path within it) where it has none:

- Cloud Storage object: namespace ``gs://{bucket}``, name ``{object path}`` (no leading slash).
- local file: namespace ``file``, name ``{absolute path}``.
- Vertex AI Model Registry version, alias or publisher model: namespace ``vertexai``, name the full
  resource name (``projects/{p}/locations/{l}/models/{id}@{version or alias}``,
  ``projects/{p}/locations/{l}/publishers/google/models/{base model}``); like BigQuery's ``bigquery``
  namespace, one global namespace whose names carry project and location.
- Gemini Developer API model: namespace ``generativelanguage``, name ``tunedModels/{id}`` or ``models/{id}``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VERTEX_NAMESPACE = "vertexai"
GEMINI_API_NAMESPACE = "generativelanguage"
# Custom facets name their schema by URN: the fields are documented in the README, not a published schema.
FACET_SCHEMA = "urn:airflow-tuning:openlineage:facet:{name}"


@dataclass(frozen=True)
class Ref:
    """One dataset as OpenLineage names it; ``kind`` is its dataset type (``FILE`` or ``MODEL``)."""

    namespace: str
    name: str
    kind: str = "FILE"


def data_ref(uri: str | None) -> Ref | None:
    """A ``gs://`` object or prefix, or a local path, as a dataset; None for in-line data or nothing."""
    if not uri or not isinstance(uri, str):
        return None
    uri = uri.strip()
    if uri.startswith("gs://"):
        bucket, _, path = uri[len("gs://"):].partition("/")
        return Ref(f"gs://{bucket}", path.rstrip("/") or "/") if bucket else None
    if uri.startswith("<") or "://" in uri:  # "<examples>", "<stdin>": data given in-line
        return None
    return Ref("file", os.path.abspath(uri))


def model_ref(name: str | None, *, project: str | None = None, location: str | None = None) -> Ref | None:
    """A model (Vertex AI or Gemini API) as a dataset of type MODEL; None when there is none.

    ``models/ID@V`` is completed with ``project``/``location``; a bare base model name (``gemini-2.5-flash``)
    becomes its publisher model in that project and location.
    """
    if not name or not isinstance(name, str):
        return None
    name = name.strip()
    if name.startswith(("tunedModels/", "models/gemini", "models/learnlm", "tunings/")):
        return Ref(GEMINI_API_NAMESPACE, name, "MODEL")
    if name.startswith(("models/", "endpoints/", "publishers/")) and project and location:
        name = f"projects/{project}/locations/{location}/{name}"
    elif not name.startswith("projects/") and project and location and "/" not in name:
        name = f"projects/{project}/locations/{location}/publishers/google/models/{name}"
    return Ref(VERTEX_NAMESPACE, name, "MODEL")


def refs(*values: Ref | None) -> list[Ref]:
    """The given refs without the Nones and without repeats, in order."""
    seen: dict[Ref, None] = {}
    for value in values:
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def billable_tokens(job: Any) -> int | None:
    """Billable tokens of a tuning job (Vertex ``tuningDataStats``), None when the service did not say."""
    stats = getattr(job, "tuning_data_stats", None)
    if stats is None:
        return None
    for field_name in ("supervised_tuning_data_stats", "preference_optimization_data_stats",
                       "distillation_data_stats"):
        value = getattr(getattr(stats, field_name, None), "total_billable_token_count", None)
        if value is not None:
            return int(value)
    return None


def operator_lineage(
    inputs: Iterable[Ref] = (),
    outputs: Iterable[Ref] = (),
    run_facets: Mapping[str, Mapping[str, Any]] | None = None,
) -> Any:
    """An ``OperatorLineage``, or None when ``apache-airflow-providers-openlineage`` is not installed.

    ``run_facets`` maps a facet name to its JSON fields; each becomes a custom run facet of that name.
    """
    try:
        import attrs
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.facet_v2 import RunFacet, dataset_type_dataset
    except ImportError:
        return None

    def facets(ref: Ref) -> dict[str, Any]:
        return {"datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType=ref.kind)}

    def run_facet(name: str, values: Mapping[str, Any]) -> Any:
        """A run facet whose JSON fields are ``values`` (job, method, hyperparameters, metrics...)."""
        present = {k: v for k, v in values.items() if v is not None}
        cls = attrs.make_class(
            "".join(part.title() for part in name.split("_")) + "RunFacet",
            {key: attrs.field(default=None) for key in present},
            bases=(RunFacet,),
        )
        facet = cls(**present)
        facet._schemaURL = FACET_SCHEMA.format(name=name)
        return facet

    return OperatorLineage(
        inputs=[InputDataset(namespace=r.namespace, name=r.name, facets=facets(r)) for r in inputs],
        outputs=[OutputDataset(namespace=r.namespace, name=r.name, facets=facets(r)) for r in outputs],
        run_facets={name: run_facet(name, values) for name, values in (run_facets or {}).items()},
    )


def _where(job_name: Any) -> dict[str, str]:
    """Project and location of ``projects/P/locations/L/...`` (to complete short model names), else none."""
    parts = str(job_name or "").split("/")
    if len(parts) >= 4 and parts[0] == "projects" and parts[2] == "locations":
        return {"project": parts[1], "location": parts[3]}
    return {}


def job_hyperparameters(job: Any) -> dict[str, Any]:
    """Hyperparameters a Vertex tuning job reports (``supervised_tuning_spec.hyper_parameters``)."""
    params = getattr(getattr(job, "supervised_tuning_spec", None), "hyper_parameters", None)
    values = {
        name: getattr(params, name, None) for name in ("epoch_count", "learning_rate_multiplier", "adapter_size")
    }
    return {k: (v.value if hasattr(v, "value") else v) for k, v in values.items() if v is not None}


def tuning_lineage(
    summary: Mapping[str, Any] | None,
    *,
    job: Any = None,
    method: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    training_dataset_uri: str | None = None,
    validation_dataset_uri: str | None = None,
    pre_tuned_model: str | None = None,
    failed: bool = False,
) -> Any:
    """A tuning job's lineage: its data (and parent model version) in, the tuned model version out.

    ``summary`` is the job summary the task returned (or saw last); the keyword arguments fill what it
    lacks (a job that was never created, the Gemini API's in-line data). A failed job produced no model.
    """
    summary = summary or {}
    where = _where(summary.get("tuning_job"))
    parent = summary.get("pre_tuned_model") or pre_tuned_model
    inputs = refs(
        data_ref(summary.get("training_dataset_uri") or training_dataset_uri),
        data_ref(summary.get("validation_dataset_uri") or validation_dataset_uri),
        model_ref(parent, **where),
    )
    outputs = [] if failed else refs(model_ref(summary.get("tuned_model"), **where))
    facet = {
        "tuning_job": summary.get("tuning_job"),
        "state": summary.get("state"),
        "method": method,
        "base_model": summary.get("base_model"),
        "pre_tuned_model": parent,
        "tuned_model": summary.get("tuned_model"),
        "hyperparameters": {**job_hyperparameters(job), **{k: v for k, v in (hyperparameters or {}).items()
                                                             if v is not None}},
        "billable_tokens": billable_tokens(job),
    }
    return operator_lineage(inputs, outputs, {"gemini_tuning": facet})


def hook_where(hook: Any) -> dict[str, str]:
    """The connection's project and location (to complete ``models/...`` names), or none if unset."""
    try:
        return {"project": hook.project, "location": hook.location}
    except Exception:  # a Gemini API connection may have no project: names stay as given
        return {}


def evaluation_lineage(
    *, eval_dataset_uri: str, model: str, baseline: str | None, where: Mapping[str, str],
    result: Mapping[str, Any] | None, report_uris: Iterable[str] = (),
) -> Any:
    """Evaluation data and both models in; the report out; the metrics as a run facet."""
    inputs = refs(data_ref(eval_dataset_uri), model_ref(model, **where), model_ref(baseline, **where))
    facet = None
    if result:
        keys = ("metrics", "baseline_metrics", "delta", "passed", "examples", "report_uri")
        facet = {"gemini_evaluation": {"model": model, "baseline": baseline, **{k: result.get(k) for k in keys}}}
    return operator_lineage(inputs, refs(*(data_ref(uri) for uri in report_uris)), facet)


def alias_lineage(promotion: Mapping[str, Any] | None, *, model_name: str, alias: str,
                  where: Mapping[str, str]) -> Any:
    """A promotion or rollback: the model version in, the alias it now names out (``models/ID@alias``)."""
    promotion = promotion or {}
    version = promotion.get("model") or model_name
    aliased = f"{str(version).split('@', 1)[0]}@{promotion.get('alias') or alias}"
    facet = {"gemini_model_alias": {k: v for k, v in promotion.items()}} if promotion else None
    return operator_lineage(refs(model_ref(version, **where)), refs(model_ref(aliased, **where)), facet)
