"""The data of the other tuning methods: preference pairs and prompt-only examples.

Preference data is Vertex AI's format (Google's page "Prepare preference tuning data for Gemini models"):
``contents`` is multi-turn text ending with a user turn, an optional ``systemInstruction`` (or
``system_instruction``), and ``completions`` holds exactly two entries ``{"score": 0|1, "completion":
{"role": "model", "parts": [{"text": ...}]}}``, one scored 1 (preferred) and one 0. Text only; the input
plus the longer completion at most 131,072 estimated tokens. Rows in the Hugging Face TRL convention
(``prompt``, ``chosen``, ``rejected``; the prompt a string or a list of chat messages) are converted into it.

Prompt data (for distillation) is ``contents`` ending with a user turn; no answer is needed: the teacher
writes it. Checks raise ``InvalidExample`` naming the field.
"""

from __future__ import annotations

from typing import Any

from airflow_tuning.dataset.validation import InvalidExample, json_type

MAX_PREFERENCE_TOKENS = 131_072
MAX_PREFERENCE_VALIDATION_EXAMPLES = 5_000
_CHARS_PER_TOKEN = 4  # Google's estimate for Gemini text
SNIFF_LINES = 3
_PREFERENCE_KEYS = frozenset({"contents", "systemInstruction", "system_instruction", "completions"})
_PROMPT_KEYS = frozenset({"contents", "systemInstruction", "system_instruction"})
_TRL_KEYS = frozenset({"prompt", "chosen", "rejected"})
_CHAT_ROLES = {"user": "user", "human": "user", "assistant": "model", "model": "model"}


def _text_parts(parts: Any, where: str) -> str:
    if not isinstance(parts, list) or not parts:
        raise InvalidExample(f"{where}.parts must be a non-empty array of text parts")
    texts = []
    for index, part in enumerate(parts):
        text = part.get("text") if isinstance(part, dict) else None
        if not isinstance(part, dict) or set(part) != {"text"} or not isinstance(text, str):
            raise InvalidExample(
                f"{where}.parts[{index}] must be {{\"text\": ...}}: this format is text only"
            )
        texts.append(text)
    if not any(t.strip() for t in texts):
        raise InvalidExample(f"{where} has no text")
    return "".join(texts)


def _check_contents(obj: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """``contents``: alternating text turns from ``user`` ending with ``user``; returns (turns, characters)."""
    contents = obj.get("contents")
    if not isinstance(contents, list) or not contents:
        raise InvalidExample(f'"contents" must be a non-empty array of turns, got {json_type(contents)}')
    turns, characters = [], 0
    for index, turn in enumerate(contents):
        where = f"contents[{index}]"
        if not isinstance(turn, dict) or not set(turn) <= {"role", "parts"}:
            raise InvalidExample(f"{where} must be an object with role and parts")
        expected = "user" if index % 2 == 0 else "model"
        if turn.get("role") != expected:
            raise InvalidExample(
                f'{where}.role is {turn.get("role")!r}; roles alternate "user"/"model" starting with "user"'
            )
        text = _text_parts(turn.get("parts"), where)
        characters += len(text)
        turns.append({"role": expected, "parts": [{"text": p["text"]} for p in turn["parts"]]})
    if turns[-1]["role"] != "user":
        raise InvalidExample('the last turn of "contents" must be a "user" turn (the prompt to answer)')
    return turns, characters


def _system_instruction(obj: dict[str, Any], out: dict[str, Any]) -> int:
    if "systemInstruction" in obj and "system_instruction" in obj:
        raise InvalidExample("give systemInstruction or system_instruction, not both")
    value = obj.get("systemInstruction", obj.get("system_instruction"))
    if value is None:
        return 0
    if not isinstance(value, dict) or not set(value) <= {"role", "parts"}:
        raise InvalidExample("systemInstruction must be an object with text parts")
    text = _text_parts(value.get("parts"), "systemInstruction")
    out["systemInstruction"] = {"parts": [{"text": p["text"]} for p in value["parts"]]}
    return len(text)


def check_prompts(obj: Any) -> dict[str, Any]:
    """One prompt-only example in canonical form (distillation data)."""
    if not isinstance(obj, dict):
        raise InvalidExample(f"expected a JSON object with \"contents\", got {json_type(obj)}")
    unknown = sorted(set(obj) - _PROMPT_KEYS)
    if unknown:
        raise InvalidExample(f"unknown field(s) {', '.join(unknown)}; a prompt example holds contents only")
    out: dict[str, Any] = {}
    _system_instruction(obj, out)
    out["contents"], _ = _check_contents(obj)
    return out


def check_preference(obj: Any, max_tokens: int = MAX_PREFERENCE_TOKENS) -> dict[str, Any]:
    """One preference example in canonical Vertex form; TRL ``prompt/chosen/rejected`` rows are converted."""
    if isinstance(obj, dict) and "completions" not in obj and _TRL_KEYS <= set(obj):
        obj = from_trl(obj)
    if not isinstance(obj, dict):
        raise InvalidExample(f"expected a JSON object with contents and completions, got {json_type(obj)}")
    unknown = sorted(set(obj) - _PREFERENCE_KEYS)
    if unknown:
        raise InvalidExample(
            f"unknown field(s) {', '.join(unknown)}; a preference example holds contents, completions and an "
            "optional systemInstruction (or prompt/chosen/rejected to convert)"
        )
    out: dict[str, Any] = {}
    characters = _system_instruction(obj, out)
    out["contents"], prompt_chars = _check_contents(obj)
    completions = obj.get("completions")
    if not isinstance(completions, list) or len(completions) != 2:
        count = len(completions) if isinstance(completions, list) else json_type(completions)
        raise InvalidExample(f'"completions" must hold exactly two entries, got {count}')
    checked: list[dict[str, Any]] = []
    longest = 0
    for index, entry in enumerate(completions):
        where = f"completions[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"score", "completion"}:
            raise InvalidExample(f'{where} must be {{"score": 0|1, "completion": {{"role": "model", ...}}}}')
        score = entry["score"]
        if isinstance(score, bool) or score not in (0, 1):
            raise InvalidExample(f"{where}.score must be 0 or 1, got {score!r}")
        completion = entry["completion"]
        if not isinstance(completion, dict) or completion.get("role") != "model" or set(completion) != {
            "role", "parts"
        }:
            raise InvalidExample(f'{where}.completion must be {{"role": "model", "parts": [...]}}')
        longest = max(longest, len(_text_parts(completion["parts"], f"{where}.completion")))
        parts = [{"text": p["text"]} for p in completion["parts"]]
        checked.append({"score": int(score), "completion": {"role": "model", "parts": parts}})
    if sorted(entry["score"] for entry in checked) != [0, 1]:
        raise InvalidExample("completions must be one scored 1 (preferred) and one scored 0 (dispreferred)")
    tokens = -(-(characters + prompt_chars + longest) // _CHARS_PER_TOKEN)
    if tokens > max_tokens:
        raise InvalidExample(
            f"input plus the longer completion is about {tokens:,} tokens; at most {max_tokens:,} are allowed"
        )
    out["completions"] = checked
    return out


def _messages(value: Any, field: str, *, final_role: str) -> list[dict[str, Any]]:
    """A TRL field (a string or a list of chat messages) as Vertex turns."""
    if isinstance(value, str):
        if not value.strip():
            raise InvalidExample(f'"{field}" is empty')
        return [{"role": final_role, "parts": [{"text": value}]}]
    if not isinstance(value, list) or not value:
        raise InvalidExample(f'"{field}" must be a string or a non-empty list of chat messages')
    turns = []
    for index, message in enumerate(value):
        role = _CHAT_ROLES.get(str(message.get("role"))) if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role is None or not isinstance(content, str):
            raise InvalidExample(
                f'"{field}"[{index}] must be {{"role": "user"|"assistant", "content": "..."}}'
                + (" (system messages go first in prompt)" if isinstance(message, dict)
                   and message.get("role") == "system" and index else "")
            )
        turns.append({"role": role, "parts": [{"text": content}]})
    return turns


def from_trl(row: dict[str, Any]) -> dict[str, Any]:
    """A TRL preference row ``{"prompt", "chosen", "rejected"}`` as a Vertex preference example."""
    unknown = sorted(set(row) - _TRL_KEYS)
    if unknown:
        raise InvalidExample(f"unknown field(s) {', '.join(unknown)} next to prompt/chosen/rejected")
    prompt = row.get("prompt")
    out: dict[str, Any] = {}
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], dict) and prompt[0].get("role") == "system":
        system = prompt[0].get("content")
        if not isinstance(system, str):
            raise InvalidExample('"prompt"[0] (system) needs a string "content"')
        out["systemInstruction"] = {"parts": [{"text": system}]}
        prompt = prompt[1:]
    out["contents"] = _messages(prompt, "prompt", final_role="user")
    completions = []
    for field, score in (("chosen", 1), ("rejected", 0)):
        turns = _messages(row.get(field), field, final_role="model")
        answer = [t for t in turns if t["role"] == "model"]
        if len(answer) != 1 or turns[-1]["role"] != "model":
            raise InvalidExample(f'"{field}" must be one assistant answer')
        completions.append({"score": score, "completion": answer[0]})
    out["completions"] = completions
    return out


def preference_pair(example: dict[str, Any]) -> tuple[str, str, str]:
    """(prompt text, chosen text, rejected text) of a canonical preference example, for evaluation."""
    prompt = "\n".join("".join(p["text"] for p in t["parts"]) for t in example["contents"] if t["role"] == "user")
    by_score = {entry["score"]: "".join(p["text"] for p in entry["completion"]["parts"])
                for entry in example["completions"]}
    return prompt, by_score[1], by_score[0]


def check_head(data_format: str, uri: str, stream: Any, lines: int = SNIFF_LINES) -> None:
    """Refuse, before a job is created, a training file whose first lines are not ``data_format`` data.

    ``preference`` lines must be preference examples (TRL rows are not: upload them with
    ``UploadDatasetOperator(format="preference")`` first); ``prompts`` lines must hold ``contents``.
    The message names the argument, the file and the line.
    """
    import json

    if data_format not in ("preference", "prompts"):
        return
    seen = 0
    for line_no, raw in enumerate(stream, start=1):
        if seen >= lines:
            break
        if not raw.strip():
            continue
        seen += 1
        try:
            obj = json.loads(raw)
            if data_format == "preference":
                if isinstance(obj, dict) and "completions" not in obj and _TRL_KEYS <= set(obj):
                    raise InvalidExample("prompt/chosen/rejected rows must be converted first "
                                         "(UploadDatasetOperator(format=\"preference\"))")
                check_preference(obj)
            elif not isinstance(obj, dict) or not isinstance(obj.get("contents"), list):
                raise InvalidExample('expected an object with "contents" (the prompt)')
        except (ValueError, InvalidExample) as err:
            what = "preference data" if data_format == "preference" else "prompt data"
            raise ValueError(f"training_dataset_uri {uri}:{line_no}: not {what}: {err}") from None
