"""Held-out evaluation examples in Vertex AI's supervised-tuning JSONL format.

Each line is ``{"systemInstruction": {...}?, "contents": [{"role": "user", "parts": [...]}, ...,
{"role": "model", "parts": [{"text": "..."}]}]}``, the same shape as the training data, so one file format
serves tuning and evaluation. The last model turn is the reference answer; every turn before it is the
prompt. The whole file is checked before any model is called: a bad line fails the run at once with the
file, the line and the reason, instead of after minutes of paid generation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_REPORTED_ERRORS = 10
_ROLES = ("user", "model")


class EvalDataError(ValueError):
    """The evaluation file is unusable; the message names the file, the lines and the reasons."""


@dataclass(frozen=True)
class EvalExample:
    """One held-out example: the prompt turns, the reference answer, and where it came from."""

    line: int
    contents: list[dict[str, Any]]
    reference: str
    system_instruction: dict[str, Any] | None = field(default=None)

    def prompt_text(self) -> str:
        """The prompt as plain text for reports: system instruction, then each turn as ``role: text``."""
        parts = []
        if self.system_instruction:
            parts.append(f"system: {_text_of(self.system_instruction)}")
        if len(self.contents) == 1:
            parts.append(_text_of(self.contents[0]))
        else:
            parts.extend(f"{turn.get('role', 'user')}: {_text_of(turn)}" for turn in self.contents)
        return "\n".join(parts)


def _text_of(content: dict[str, Any]) -> str:
    parts = content.get("parts") or []
    return "".join(part.get("text", "") for part in parts if isinstance(part, dict))


def _check_content(turn: Any, where: str) -> str | None:
    if not isinstance(turn, dict):
        return f"{where} must be an object"
    parts = turn.get("parts")
    if not isinstance(parts, list) or not parts:
        return f"{where} needs a non-empty 'parts' list"
    if not all(isinstance(part, dict) and part for part in parts):
        return f"{where} has a part that is not a non-empty object"
    return None


def parse_example(obj: Any, line: int) -> EvalExample:
    """One decoded JSON line as an example; ``ValueError`` with the reason when it is not one."""
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    from airflow_tuning.evaluation.preference import is_preference_data, parse_preference_example

    if is_preference_data(obj):  # a preference pair: the chosen completion is the reference
        turns, system, pair = parse_preference_example(obj)
        return EvalExample(line=line, contents=turns, reference=pair, system_instruction=system)
    contents = obj.get("contents")
    if not isinstance(contents, list) or len(contents) < 2:
        raise ValueError("'contents' must list at least a user turn and the model's reference turn")
    for index, turn in enumerate(contents):
        problem = _check_content(turn, f"contents[{index}]")
        if problem:
            raise ValueError(problem)
        if turn.get("role") not in _ROLES:
            raise ValueError(f"contents[{index}].role must be 'user' or 'model', got {turn.get('role')!r}")
    last = contents[-1]
    if last["role"] != "model":
        raise ValueError("the last turn must have role 'model': it is the reference answer")
    reference = _text_of(last)
    if not reference.strip():
        raise ValueError("the last model turn has no text to use as the reference")
    if contents[0]["role"] != "user":
        raise ValueError("the first turn must have role 'user'")
    system = obj.get("systemInstruction", obj.get("system_instruction"))
    if system is not None:
        problem = _check_content(system, "systemInstruction")
        if problem:
            raise ValueError(problem)
    return EvalExample(line=line, contents=list(contents[:-1]), reference=reference, system_instruction=system)


def parse_eval_lines(
    lines: Iterable[str | bytes], source: str, *, max_examples: int | None = None
) -> list[EvalExample]:
    """Parse JSONL text into examples, keeping the first ``max_examples`` (blank lines are skipped).

    Every line read is validated; the error lists up to ten bad lines, each with its number and reason.
    """
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"max_examples must be >= 1, got {max_examples}")
    examples: list[EvalExample] = []
    errors: list[str] = []
    error_count = 0
    for number, raw in enumerate(lines, start=1):
        if max_examples is not None and len(examples) >= max_examples:
            break
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            example = parse_example(json.loads(text), number)
        except json.JSONDecodeError as err:
            problem = f"line {number}: not valid JSON ({err.msg} at column {err.colno})"
        except ValueError as err:
            problem = f"line {number}: {err}"
        else:
            examples.append(example)
            continue
        error_count += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(problem)
    if errors:
        more = f"\n  ... and {error_count - len(errors)} more" if error_count > len(errors) else ""
        raise EvalDataError(
            f"Evaluation data {source}: {error_count} invalid line(s):\n  " + "\n  ".join(errors) + more
        )
    if not examples:
        raise EvalDataError(f"Evaluation data {source} has no examples")
    return examples
