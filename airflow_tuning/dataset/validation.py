"""The rules one tuning example must pass, and its conversion to the canonical Vertex Gemini SFT shape.

An example is checked as Vertex AI's supervised-tuning data format describes it: ``contents`` is a list of
turns whose roles alternate ``user``/``model``, starting with ``user`` and ending with the ``model`` turn to
learn; every turn has a non-empty ``parts`` list; every part holds exactly one of ``text``,
``fileData {mimeType, fileUri}``, ``functionCall`` or ``functionResponse``; ``systemInstruction`` (or
``system_instruction``) holds text parts only. snake_case spellings of part fields are accepted and
rewritten to camelCase, so one example written two ways is one example (and one duplicate).

Checks raise ``InvalidExample`` with a reason meant for a person: it names the field and what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from airflow_tuning.dataset.limits import TOKENS_PER_MEDIA_PART, Limits

PART_KINDS = ("text", "fileData", "functionCall", "functionResponse")
_TOP_KEYS = frozenset({"contents", "systemInstruction", "system_instruction", "tools"})
_TURN_KEYS = frozenset({"role", "parts"})
_PART_ALIASES = {"file_data": "fileData", "function_call": "functionCall", "function_response": "functionResponse"}
_FILE_ALIASES = {"mime_type": "mimeType", "file_uri": "fileUri"}
FILE_URI_SCHEMES = ("gs://", "http://", "https://")
_FUNCTION_KEYS = {"functionCall": frozenset({"name", "args", "id"}),
                  "functionResponse": frozenset({"name", "response", "id"})}
PAIR_INPUT_KEYS = ("input", "text_input")
# Characters that str.splitlines() and some JSONL readers treat as line breaks, though JSON allows them raw.
LINE_BREAKS = {ch: f"\\u{ord(ch):04x}" for ch in "\u0085\u2028\u2029"}
# Their UTF-8 forms, and the lead bytes of those as ints: ``int in bytes`` is a bare memchr, several times
# faster than a search for a one-byte ``bytes``.
_LINE_BREAK_BYTES = tuple(ch.encode("utf-8") for ch in LINE_BREAKS)
_LEAD_E2, _LEAD_C2 = 0xE2, 0xC2
encode_sorted = msgspec.json.Encoder(order="sorted").encode
# For typed examples whose fields are declared in sorted order and hold no free-form objects: the same bytes
# as ``encode_sorted``, at half the cost (nothing to sort at run time).
encode_declared = msgspec.json.Encoder().encode


class InvalidExample(ValueError):
    """One example (one line or CSV record) breaks a rule; the message says which and how."""


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def check_example(obj: Any, limits: Limits, *, expect: str = "auto", system_instruction: str | None = None
                  ) -> tuple[dict[str, Any], int, str]:
    """Check one decoded JSON example of either kind; return (canonical example, file parts, kind).

    ``expect`` is ``auto`` (decided by the keys present), ``vertex`` or ``pairs``.
    """
    if type(obj) is not dict:
        raise InvalidExample(f"expected a JSON object, got {json_type(obj)}")
    if expect != "pairs" and "contents" in obj:
        example, files = check_vertex(obj, limits)
        return example, files, "vertex"
    if expect != "vertex" and "output" in obj and any(key in obj for key in PAIR_INPUT_KEYS):
        example, files = check_pair(obj, limits, system_instruction)
        return example, files, "pairs"
    if expect == "vertex":
        hint = " (the legacy 'messages' format is not accepted by Gemini tuning)" if "messages" in obj else ""
        raise InvalidExample(f"missing 'contents': not a Vertex Gemini example{hint}")
    if expect == "pairs":
        raise InvalidExample("expected an input/output pair: needs 'output' and one of 'input', 'text_input'")
    raise InvalidExample(
        "neither a Vertex Gemini example (no 'contents') nor an input/output pair ('input' or 'text_input', "
        f"and 'output'); keys: {sorted(obj)[:8]}"
    )


def check_pair(obj: dict[str, Any], limits: Limits, system_instruction: str | None = None
               ) -> tuple[dict[str, Any], int]:
    """An ``{"input"|"text_input", "output"}`` pair as a two-turn Vertex example. Other keys are ignored."""
    present = [key for key in PAIR_INPUT_KEYS if key in obj]
    if len(present) != 1:
        raise InvalidExample("a pair needs exactly one of 'input' and 'text_input'")
    return pair_example(obj[present[0]], obj.get("output"), limits, system_instruction,
                        input_name=present[0], output_name="output")


def pair_example(prompt: Any, response: Any, limits: Limits, system_instruction: str | None = None, *,
                 input_name: str = "input", output_name: str = "output") -> tuple[dict[str, Any], int]:
    """Build and check the Vertex example for one prompt/response pair (JSONL pair or CSV row)."""
    for name, value in ((input_name, prompt), (output_name, response)):
        if type(value) is not str:
            raise InvalidExample(f"'{name}' must be a string, got {json_type(value)}")
        if not value.strip():
            raise InvalidExample(f"'{name}' is empty")
    example: dict[str, Any] = {
        "contents": [
            {"role": "user", "parts": [{"text": prompt}]},
            {"role": "model", "parts": [{"text": response}]},
        ]
    }
    if system_instruction:
        example["systemInstruction"] = {"parts": [{"text": system_instruction}]}
    return check_vertex(example, limits)


def check_vertex(obj: dict[str, Any], limits: Limits) -> tuple[dict[str, Any], int]:
    """Check a Vertex Gemini SFT example; return it in canonical field spelling and its count of file parts.

    Written as one tight loop over turns and parts, each visited once: this runs once per line of files
    that can hold millions of lines, and a line may hold tens of thousands of parts (time stays linear).
    """
    if not _TOP_KEYS.issuperset(obj):
        raise InvalidExample(
            f"unknown field(s) {sorted(obj.keys() - _TOP_KEYS)}; a Vertex example has 'contents', "
            "'systemInstruction', 'tools'"
        )
    if "system_instruction" in obj:
        if "systemInstruction" in obj:
            raise InvalidExample("both 'systemInstruction' and 'system_instruction' are set")
        obj = {("systemInstruction" if k == "system_instruction" else k): v for k, v in obj.items()}
    contents = obj["contents"]
    if type(contents) is not list or not contents:
        raise InvalidExample("'contents' must be a non-empty array of turns")
    if limits.single_turn and len(contents) != 2:
        raise InvalidExample(f"only one user turn and one model turn are allowed here, got {len(contents)} turns")
    media: Media | None = None
    new_contents = None
    input_chars = output_chars = 0
    expected = "user"
    last = len(contents) - 1
    for index, turn in enumerate(contents):
        if type(turn) is not dict:
            raise InvalidExample(f"contents[{index}] must be an object, got {json_type(turn)}")
        role = turn.get("role")
        if role != expected:
            raise InvalidExample(_role_error(index, role))
        if len(turn) != 2 or "parts" not in turn:
            raise InvalidExample(_turn_keys_error(f"contents[{index}]", turn))
        parts = turn["parts"]
        if type(parts) is not list or not parts:
            raise InvalidExample(f"contents[{index}].parts must be a non-empty array")
        chars = 0
        rewritten = None
        for number, part in enumerate(parts):
            if type(part) is dict and len(part) == 1:
                text = part.get("text")
                if type(text) is str and text:
                    chars += len(text)
                    continue
            if media is None:
                media = Media()
            new_part = _check_other_part(part, f"contents[{index}].parts[{number}]", media, limits)
            if new_part is not part:
                if rewritten is None:
                    rewritten = list(parts)
                rewritten[number] = new_part
        if index == last:
            output_chars = chars
        else:
            input_chars += chars
        if rewritten is not None:
            if new_contents is None:
                new_contents = list(contents)
            new_contents[index] = {"role": role, "parts": rewritten}
        expected = "model" if role == "user" else "user"
    if expected != "user":
        raise InvalidExample(f"the last turn (contents[{last}]) must be 'model': the response to learn")
    if new_contents is not None:
        obj = {**obj, "contents": new_contents}
    if "systemInstruction" in obj:
        input_chars += _check_system_instruction(obj["systemInstruction"])
    if "tools" in obj:
        tools = obj["tools"]
        if type(tools) is not list or any(type(tool) is not dict for tool in tools):
            raise InvalidExample("'tools' must be an array of objects")
    if limits.max_input_chars is not None and input_chars > limits.max_input_chars:
        raise InvalidExample(_over(input_chars, limits.max_input_chars, "characters of input", limits))
    if limits.max_output_chars is not None and output_chars > limits.max_output_chars:
        raise InvalidExample(_over(output_chars, limits.max_output_chars, "characters of output", limits))
    if media is None:
        return obj, 0
    media.check(limits)
    return obj, media.files


def encode_example(example: Any, files: int, limits: Limits, encode: Callable[[Any], bytes] = encode_sorted
                   ) -> tuple[bytes, int]:
    """The canonical line (sorted keys, compact, UTF-8, no newline) and its token estimate, checked.

    U+0085, U+2028 and U+2029 are written as escapes so that every JSONL reader sees one example per line.

    Tokens are estimated from the line itself: about 4 bytes of JSON per token, plus a fixed cost per
    attached file. Cheap, and on the safe side for the per-example limit.
    """
    line = encode(example)
    if not line.isascii():
        line = _escape_line_breaks(line)
    tokens = len(line) // 4 + files * TOKENS_PER_MEDIA_PART
    if limits.max_example_tokens is not None and tokens > limits.max_example_tokens:
        raise InvalidExample(_over(tokens, limits.max_example_tokens, "estimated tokens", limits))
    return line, tokens


def has_line_break(line: bytes) -> bool:
    """Whether ``line``, valid UTF-8, holds U+0085, U+2028 or U+2029.

    Their UTF-8 bytes are searched without decoding (in valid UTF-8 no other character contains them), after
    their lead bytes: most lines hold neither.
    """
    return (_LEAD_E2 in line or _LEAD_C2 in line) and any(seq in line for seq in _LINE_BREAK_BYTES)


def _escape_line_breaks(line: bytes) -> bytes:
    """``line`` (valid UTF-8 JSON) with U+0085, U+2028 and U+2029 written as escapes."""
    if not has_line_break(line):
        return line
    text = line.decode("utf-8")
    for ch, escaped in LINE_BREAKS.items():
        text = text.replace(ch, escaped)
    return text.encode("utf-8")


def _over(value: int, limit: int, what: str, limits: Limits) -> str:
    return f"{value:,} {what} exceed the limit of {limit:,} per example ({limits.preset})"


def _role_error(index: int, role: Any) -> str:
    where = f"contents[{index}]"
    if role is None:
        return f"{where} has no 'role' (must be 'user' or 'model')"
    if role not in ("user", "model"):
        return f"{where}.role must be 'user' or 'model', got {role!r}"
    if index == 0:
        return f"{where}.role is 'model': the first turn must be 'user'"
    return f"{where}.role is {role!r} after a {role} turn: turns must alternate user, model, user, ..."


def _turn_keys_error(where: str, turn: dict[str, Any]) -> str:
    extra = sorted(turn.keys() - _TURN_KEYS)
    return f"{where} has unknown field(s) {extra}" if extra else f"{where} has no 'parts'"


class Media:
    __slots__ = ("files", "images", "pdfs", "audio", "videos")

    def __init__(self) -> None:
        self.files = self.images = self.pdfs = self.audio = self.videos = 0

    def add(self, mime: str) -> None:
        self.files += 1
        major = mime.split("/", 1)[0].lower()
        if major == "image":
            self.images += 1
        elif major == "audio":
            self.audio += 1
        elif major == "video":
            self.videos += 1
        elif mime.lower() == "application/pdf":
            self.pdfs += 1

    def check(self, limits: Limits) -> None:
        for limit, value, what in (
            (limits.max_images, self.images, "images"),
            (limits.max_pdfs, self.pdfs, "PDF files"),
            (limits.max_audio, self.audio, "audio files"),
            (limits.max_videos, self.videos, "video files"),
        ):
            if limit is not None and value > limit:
                raise InvalidExample(_over(value, limit, what, limits))


def _check_other_part(part: Any, where: str, media: Media, limits: Limits) -> dict[str, Any]:
    """Every part that is not a plain non-empty text; returns the part, rewritten if spelled snake_case."""
    if type(part) is not dict or len(part) != 1:
        raise InvalidExample(_part_shape_error(where, part))
    ((kind, value),) = part.items()
    if kind == "text":
        raise InvalidExample(f"{where}.text must be a non-empty string")
    canonical = _PART_ALIASES.get(kind, kind)
    if canonical not in PART_KINDS:
        raise InvalidExample(_part_shape_error(where, part))
    if limits.text_only:
        raise InvalidExample(f"{where} is {canonical}: only text parts are allowed here")
    if canonical == "fileData":
        checked = _check_file_data(value, f"{where}.{kind}", media)
    else:
        _check_function(value, f"{where}.{kind}", canonical)
        checked = value
    return part if canonical == kind and checked is value else {canonical: checked}


def _part_shape_error(where: str, part: Any) -> str:
    kinds = ", ".join(PART_KINDS)
    if type(part) is not dict:
        return f"{where} must be an object, got {json_type(part)}"
    if not part:
        return f"{where} is empty: it must hold exactly one of {kinds}"
    if len(part) > 1:
        return f"{where} has {len(part)} fields {sorted(part)}: it must hold exactly one of {kinds}"
    return f"{where} has unknown kind {next(iter(part))!r}: it must be one of {kinds}"


def _check_file_data(value: Any, where: str, media: Media) -> dict[str, Any]:
    if type(value) is not dict:
        raise InvalidExample(f"{where} must be an object with mimeType and fileUri")
    if any(key in _FILE_ALIASES for key in value):
        value = {_FILE_ALIASES.get(k, k): v for k, v in value.items()}
    if value.keys() != {"mimeType", "fileUri"}:
        raise InvalidExample(f"{where} must have exactly 'mimeType' and 'fileUri', got {sorted(value)}")
    mime, uri = value["mimeType"], value["fileUri"]
    if type(mime) is not str or "/" not in mime:
        raise InvalidExample(f"{where}.mimeType must be a MIME type such as 'image/jpeg', got {mime!r}")
    if type(uri) is not str or not uri.startswith(FILE_URI_SCHEMES) or len(uri) < 8:
        raise InvalidExample(f"{where}.fileUri must be a gs://, http:// or https:// URI, got {uri!r}")
    media.add(mime)
    return value


def _check_function(value: Any, where: str, kind: str) -> None:
    allowed = _FUNCTION_KEYS[kind]
    if type(value) is not dict:
        raise InvalidExample(f"{where} must be an object, got {json_type(value)}")
    if not value.keys() <= allowed:
        extra = sorted(value.keys() - allowed)
        raise InvalidExample(f"{where} has unknown field(s) {extra}; allowed: {', '.join(sorted(allowed))}")
    name = value.get("name")
    if type(name) is not str or not name:
        raise InvalidExample(f"{where}.name must be a non-empty string")
    payload = "args" if kind == "functionCall" else "response"
    if kind == "functionResponse" and payload not in value:
        raise InvalidExample(f"{where} needs a 'response' object")
    if payload in value and type(value[payload]) is not dict:
        raise InvalidExample(f"{where}.{payload} must be an object, got {json_type(value[payload])}")


def _check_system_instruction(value: Any) -> int:
    """Text-only system instruction; returns its character count."""
    where = "systemInstruction"
    if type(value) is not dict:
        raise InvalidExample(f"{where} must be an object with text parts, got {json_type(value)}")
    if not _TURN_KEYS.issuperset(value):
        raise InvalidExample(f"{where} has unknown field(s) {sorted(value.keys() - _TURN_KEYS)}")
    parts = value.get("parts")
    if type(parts) is not list or not parts:
        raise InvalidExample(f"{where}.parts must be a non-empty array of text parts")
    chars = 0
    for index, part in enumerate(parts):
        text = part.get("text") if type(part) is dict and len(part) == 1 else None
        if type(text) is not str or not text:
            raise InvalidExample(f"{where}.parts[{index}] must be a text part with a non-empty 'text'")
        chars += len(text)
    return chars
