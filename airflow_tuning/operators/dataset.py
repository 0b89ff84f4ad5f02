"""``UploadDatasetOperator``: validate, convert, dedupe, split and publish tuning data, content-addressed.

Reads local files and globs, ``gs://`` objects, prefixes and globs, and in-line examples (e.g. from
XCom); accepts Vertex Gemini SFT JSONL, input/output pairs JSONL and CSV; writes Vertex Gemini SFT JSONL
under ``<destination>/<sha256[:16]>/``. Unchanged data publishes nothing and returns ``changed: False``
so a DAG can skip retraining; when the sources themselves are those a published dataset was made from
(local files and objects with the same CRC32C and size, the same in-line examples, the same options),
nothing is even read or sent (``dataset.reuse``). The rules live in :mod:`airflow_tuning.dataset` (no
Airflow import), shared with the ``airflow-tuning validate`` command.
"""

from __future__ import annotations

import ast
import json
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_tuning.common.names import parse_gs_prefix
from airflow_tuning.common.rendered import is_template, text_argument_problems, validate_unless_template
from airflow_tuning.hooks.tuning import GeminiTuningHook

if TYPE_CHECKING:
    from airflow.sdk import Context

FORMATS = ("auto", "vertex", "pairs", "csv", "preference", "prompts")  # dataset.formats.FORMATS, without its import
ON_INVALID = ("fail", "skip")


def _check_on_invalid(value: str) -> None:
    if value not in ON_INVALID:
        raise ValueError(f"on_invalid must be one of {ON_INVALID}, got {value!r}")


def _check_destination(value: str) -> None:
    try:
        parse_gs_prefix(value, what="destination")
    except ValueError:
        raise ValueError(f"destination must be a gs://bucket/prefix URI, got {value!r}") from None


class UploadDatasetOperator(BaseOperator):
    """Validate tuning data, convert it to Vertex Gemini SFT JSONL, split it and upload it by content hash.

    :param destination: ``gs://bucket/prefix``; files go to ``prefix/<sha256[:16]>/train.jsonl``,
        ``validation.jsonl`` and ``manifest.json`` (written last). Templated.
    :param sources: local paths, directories or globs, and ``gs://`` objects, prefixes or globs; one string
        or a list. Directories and prefixes contribute their ``*.jsonl`` and ``*.csv`` files. All sources are
        merged (e.g. the accumulated history prefix plus this week's files). Templated.
    :param examples: in-line examples (Vertex or pair dicts, or JSON strings), e.g. pulled from XCom; a
        JSON array or JSONL string is accepted too. Templated.
    :param format: ``auto`` (CSV by ``.csv`` name, otherwise told apart line by line), ``vertex``, ``pairs``,
        ``csv``, ``preference`` (Vertex preference JSONL for ``method="preference"``; TRL
        ``prompt``/``chosen``/``rejected`` JSONL rows and ``.csv`` files with those columns are converted) or
        ``prompts`` (``contents`` ending with a user turn, for ``method="distillation"``; a CSV's
        ``prompt_column`` too). Preference validation files hold at most 5,000 examples.
    :param prompt_column: ``preference``/``prompts`` CSV column of the prompt (default ``prompt``).
    :param chosen_column: ``preference`` CSV column of the preferred answer (default ``chosen``).
    :param rejected_column: ``preference`` CSV column of the dispreferred answer (default ``rejected``).
    :param input_column: CSV column of the prompt (default ``input``, else ``text_input``).
    :param output_column: CSV column of the response.
    :param system_instruction: system instruction added to pair and CSV examples. Templated.
    :param validation_fraction: share of examples that are validation candidates, chosen by content hash.
    :param validation_max: cap on validation examples (256 in Google's tuning docs; Gemini 2.x accepts
        up to 5,000). ``0`` disables the validation file.
    :param on_invalid: ``fail`` (default): any invalid record fails the task and uploads nothing; ``skip``:
        drop invalid records unless more than ``max_invalid_fraction`` of them are invalid.
    :param max_invalid_fraction: the tolerated share of invalid records with ``on_invalid="skip"``.
    :param max_reported_problems: how many problems the error and the log list (the total is always given).
    :param limits: ``vertex`` (Gemini 2.x on Vertex AI), ``gemini-api`` (40,000/5,000-character pairs),
        or a dict of overrides such as ``{"preset": "vertex", "max_images": 10}``; each limit is a whole
        number >= 0, or None for no limit; anything else fails the task without a retry.
    :param workdir: where the converted files are written before upload (default: the system temporary
        directory); they need about the size of the data, and a fast local disk or tmpfs speeds things up.
    :param asset: the Asset emitted when the task succeeds, with the result as the event's ``extra``.
        Defaults to ``Asset(uri=destination)`` without a trailing slash (``Asset(name=destination)`` while
        it is a template).
        Downstream DAGs can schedule on it and read ``extra["changed"]`` to skip retraining.
    :param gcp_conn_id: a ``gemini_tuning`` connection.

    Returns (XCom): ``training_dataset_uri``, ``validation_dataset_uri`` (None without validation data),
    ``manifest_uri``, ``examples`` (training examples), ``validation_examples``, ``invalid``,
    ``duplicates``, ``sha256``, ``changed``. The same dict is the emitted Asset event's ``extra``.

    :raises AirflowFailException: invalid data (every bad record as ``FILE:LINE: reason``; nothing is
        uploaded, no retry), a source that does not exist, a CSV without the named columns, or a
        destination bucket that does not exist (the message says how to create it).
    :raises ValueError: invalid arguments, when the DAG is parsed (``format``, ``on_invalid``,
        ``destination``).
    """

    template_fields: Sequence[str] = (
        "sources", "destination", "system_instruction", "examples", "input_column", "output_column",
        "on_invalid", "max_invalid_fraction",
    )
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        destination: str,
        sources: str | Sequence[str] | None = None,
        examples: Sequence[Any] | str | None = None,
        format: str = "auto",
        input_column: str | None = None,
        output_column: str = "output",
        prompt_column: str = "prompt",
        chosen_column: str = "chosen",
        rejected_column: str = "rejected",
        system_instruction: str | None = None,
        validation_fraction: float = 0.1,
        validation_max: int = 256,
        on_invalid: str = "fail",
        max_invalid_fraction: float = 0.05,
        max_reported_problems: int = 20,
        limits: str | Mapping[str, Any] | None = "vertex",
        workdir: str | None = None,
        asset: Asset | None = None,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
        validate_unless_template(on_invalid, _check_on_invalid)
        validate_unless_template(destination, _check_destination)
        where = destination.strip().rstrip("/")
        self.asset = asset or (Asset(name=where) if is_template(where) else Asset(uri=where))
        kwargs.setdefault("outlets", [self.asset])
        super().__init__(**kwargs)
        self.destination = destination
        self.sources = sources
        self.examples = examples
        self.format = format
        self.input_column = input_column
        self.output_column = output_column
        self.preference_columns = (prompt_column, chosen_column, rejected_column)
        self.system_instruction = system_instruction
        self.validation_fraction = validation_fraction
        self.validation_max = validation_max
        self.on_invalid = on_invalid
        self.max_invalid_fraction = max_invalid_fraction
        self.max_reported_problems = max_reported_problems
        self.limits = limits
        self.workdir = workdir
        self.gcp_conn_id = gcp_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_tuning.dataset import CsvColumns, DatasetValidationError, Limits, Options, prepare
        from airflow_tuning.dataset.publish import BucketNotFoundError, Destination, publish, staging
        from airflow_tuning.dataset.reuse import find_published
        from airflow_tuning.dataset.source_fingerprint import sources_fingerprint

        problems = text_argument_problems(
            self, ("destination", "system_instruction", "input_column", "output_column"),
            optional=("system_instruction", "input_column"),
        )  # fmt: skip
        if problems:
            raise AirflowFailException("; ".join(problems))
        try:
            Destination.parse(self.destination)
        except ValueError as err:
            raise AirflowFailException(f"destination: {err}") from None
        try:
            _check_on_invalid(self.on_invalid)
            max_invalid_fraction = float(self.max_invalid_fraction)
        except (TypeError, ValueError) as err:
            raise AirflowFailException(f"on_invalid / max_invalid_fraction: {err}") from None
        if not 0 <= max_invalid_fraction <= 1:
            raise AirflowFailException(f"max_invalid_fraction must be between 0 and 1, got {max_invalid_fraction}")
        try:  # here, not in __init__: the limits module's dataclasses would cost every DAG parse about 2 ms
            limits = Limits.resolve(self.limits)
        except (TypeError, ValueError) as err:
            raise AirflowFailException(f"{err}. Nothing was uploaded.") from None
        hook = GeminiTuningHook(self.gcp_conn_id)
        options = Options(
            columns=CsvColumns(self.input_column or None, self.output_column, *self.preference_columns),
            system_instruction=self.system_instruction or None,
            validation_fraction=float(self.validation_fraction),
            validation_max=int(self.validation_max),
            on_invalid=self.on_invalid,
            max_invalid_fraction=max_invalid_fraction,
            max_problems=int(self.max_reported_problems),
            limits=limits,
        )
        try:
            sources = self._resolve_sources(hook)
        except DatasetValidationError as err:  # a missing file, a pattern matching nothing
            raise AirflowFailException(f"{err}\nNothing was uploaded.") from None
        self._lineage_sources = [s.name for s in sources]
        self.log.info("Reading %d source(s): %s", len(sources), ", ".join(s.name for s in sources[:10])
                      + (" ..." if len(sources) > 10 else ""))
        storage = hook.get_storage_client()
        # The same sources and options as a published dataset's: answer with it, reading nothing.
        fingerprint = sources_fingerprint(sources, options)
        reused = find_published(storage, self.destination, fingerprint.digest, retry=hook.api_core_retry) \
            if fingerprint else None
        if reused is not None:
            return self._finish(context, reused)
        # The training file is sent while it is validated; the session is cancelled unless the data is valid.
        with tempfile.TemporaryDirectory(prefix="airflow-tuning-dataset-", dir=self.workdir) as workdir, \
                staging(storage, self.destination, workdir, retry=hook.api_core_retry) as staged:
            try:
                prepared = prepare(sources, workdir, options, progress=self._log_progress)
            except DatasetValidationError as err:
                # Bad data does not get better on retry: fail now, with the report, having uploaded nothing.
                raise AirflowFailException(f"{err}\nNothing was uploaded.") from None
            report = prepared.report
            self.log.info("Validated: %s", report.summary())
            for problem in report.problems:
                self.log.warning("Skipped invalid record %s", problem)
            for warning in report.warnings:
                self.log.warning("%s", warning)
            self.log.info("Split: %d training, %d validation example(s); dataset sha256 %s",
                          prepared.train.examples, prepared.validation.examples if prepared.validation else 0,
                          prepared.sha256)
            if fingerprint is not None and not fingerprint.still_holds():
                self.log.warning("A local source changed while it was read: the dataset is published without the "
                                 "sources' fingerprint, and the next run reads them again")
                fingerprint = None
            try:
                result = publish(storage, prepared, self.destination, retry=hook.api_core_retry, staged=staged,
                                 sources_fingerprint=fingerprint.digest if fingerprint else None)
            except BucketNotFoundError as err:
                raise AirflowFailException(err.advice(emulated=hook.settings.is_emulated)) from None
        self.log.info("%s: %s", "Published" if result["changed"] else "Unchanged, nothing uploaded",
                      result["training_dataset_uri"])
        return self._finish(context, result)

    def _finish(self, context: Context, result: dict[str, Any]) -> dict[str, Any]:
        context["outlet_events"][self.asset].extra = dict(result)
        self._lineage_result = result
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The source objects or files in; the published training and validation files out."""
        from airflow_tuning.tasks.lineage import data_ref, operator_lineage, refs

        result = getattr(self, "_lineage_result", None) or {}
        keys = ("examples", "validation_examples", "invalid", "duplicates", "sha256", "changed", "manifest_uri")
        return operator_lineage(
            refs(*(data_ref(name) for name in getattr(self, "_lineage_sources", []))),
            refs(data_ref(result.get("training_dataset_uri")), data_ref(result.get("validation_dataset_uri"))),
            {"gemini_tuning_dataset": {key: result.get(key) for key in keys}} if result else None,
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The sources that were read; nothing was published."""
        from airflow_tuning.tasks.lineage import data_ref, operator_lineage, refs

        return operator_lineage(refs(*(data_ref(name) for name in getattr(self, "_lineage_sources", []))))

    def _resolve_sources(self, hook: GeminiTuningHook) -> list[Any]:
        from airflow_tuning.dataset.sources import gcs_sources, inline_source, local_sources

        names = _as_list(self.sources, "sources")
        resolved: list[Any] = []
        seen: set[str] = set()  # each local file once, whichever names reach it
        for name in names:
            name = str(name).strip()
            if name.startswith("gs://"):
                resolved.extend(gcs_sources(hook.get_storage_client(), [name], self.format))
            elif name:
                resolved.extend(local_sources([name], self.format, seen))
        examples = _parse_examples(self.examples)
        if examples:
            resolved.append(inline_source(examples, "auto" if self.format == "csv" else self.format))
        if not resolved:
            raise AirflowFailException("No data: give `sources` (paths, globs, gs:// URIs) or `examples`.")
        return resolved

    def _log_progress(self, progress: dict[str, Any]) -> None:
        elapsed = max(progress["elapsed"], 1e-9)
        self.log.info(
            "Progress: %s records (%.0f/s, %.1f MB/s), %s unique examples, %s invalid; reading %s",
            f"{progress['records']:,}", progress["records"] / elapsed, progress["bytes"] / elapsed / 1e6,
            f"{progress['examples']:,}", f"{progress['invalid']:,}", progress["source"],
        )


def _as_list(value: Any, name: str) -> list[Any]:
    """A list from a parameter that may arrive as a rendered template string.

    Without ``render_template_as_native_obj`` a templated list renders as its text (JSON or Python repr).
    """
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError) as err:
                    raise AirflowFailException(f"`{name}` is not a valid list: {err}") from None
            return list(parsed)
        return [text]
    if isinstance(value, Mapping):
        return [value]
    return list(value)


def _parse_examples(examples: Any) -> list[Any]:
    """In-line examples: a list, a JSON/Python list rendered as text, or JSONL text."""
    if isinstance(examples, str) and not examples.strip().startswith("["):
        return [line for line in examples.split("\n") if line.strip()]
    return _as_list(examples, "examples")
