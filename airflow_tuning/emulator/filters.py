"""Vertex AI's list ``filter`` (AIP-160): what ``ListTuningJobs`` and ``ListModels`` accept.

Comparisons ``field = value``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` and ``:`` (has), combined with ``AND``,
``OR`` (binding tighter than ``AND``, as AIP-160 says), ``NOT`` / ``-`` and parentheses; terms side by side
mean ``AND``. Values are quoted strings or bare words; ``*`` is a wildcard. Labels are a map:
``labels.team="a"``, ``labels.team:*`` and ``labels:team`` (key present), ``labels."a key"="b"``.
Each resource names the fields it supports (snake_case and camelCase alike); anything else is
INVALID_ARGUMENT naming the field and the supported ones, as Vertex AI refuses unknown filter fields.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_tuning.emulator.wire import invalid

MAX_FILTER_LENGTH = 4096
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<paren>[()])
    | (?P<op>!=|<=|>=|=|<|>|:)
    | (?P<quoted>"(?:[^"\\]|\\.)*")
    | (?P<word>[^\s()"=!<>:]+(?:"(?:[^"\\]|\\.)*")?)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Comparison:
    field: str  # canonical field name, or "labels" / "labels.<key>"
    op: str
    value: str


@dataclass(frozen=True)
class Node:
    kind: str  # "and", "or", "not"
    children: tuple[Any, ...]


Expression = Comparison | Node | None


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise invalid(f"Invalid filter {text!r}: unexpected character at position {pos}.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1]) if token.startswith('"') else token


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, str]) -> None:
        self.text = text
        self.fields = fields
        self.tokens = _tokens(text)
        self.pos = 0

    def fail(self, why: str) -> Exception:
        return invalid(f"Invalid filter {self.text!r}: {why}. Example: "
                       'labels.team="nlp" AND (state="JOB_STATE_RUNNING" OR state="JOB_STATE_QUEUED").')

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.fail("it ends too early")
        self.pos += 1
        return token

    def parse(self) -> Expression:
        if not self.tokens:
            return None
        node = self.conjunction()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def conjunction(self) -> Any:
        terms = [self.disjunction()]
        while (token := self.peek()) is not None and token != ("paren", ")"):
            if token == ("word", "AND"):
                self.take()
            terms.append(self.disjunction())
        return terms[0] if len(terms) == 1 else Node("and", tuple(terms))

    def disjunction(self) -> Any:
        terms = [self.unary()]
        while self.peek() == ("word", "OR"):
            self.take()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else Node("or", tuple(terms))

    def unary(self) -> Any:
        token = self.peek()
        if token == ("word", "NOT"):
            self.take()
            return Node("not", (self.unary(),))
        if token is not None and token[0] == "word" and token[1].startswith("-") and len(token[1]) > 1:
            self.tokens[self.pos] = ("word", token[1][1:])
            return Node("not", (self.unary(),))
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if (kind, value) == ("paren", "("):
            node = self.conjunction()
            if self.take() != ("paren", ")"):
                raise self.fail("a parenthesis is not closed")
            return node
        if kind != "word" or value in ("AND", "OR"):
            raise self.fail(f"expected a field name, got {value!r}")
        field = self.field(value)
        op_kind, op = self.take()
        if op_kind != "op":
            raise self.fail(f"expected an operator after {value!r}, got {op!r}")
        value_kind, operand = self.take()
        if value_kind not in ("word", "quoted"):
            raise self.fail(f"expected a value after {value}{op}, got {operand!r}")
        if field == "labels" and op != ":":
            raise self.fail('labels is a map: use labels.KEY="value", labels.KEY:* or labels:KEY')
        return Comparison(field, op, _unquote(operand) if value_kind == "quoted" else operand)

    def field(self, word: str) -> str:
        head, dot, rest = word.partition(".")
        if head == "labels":
            if not dot:
                return "labels"
            if not rest:
                raise self.fail("a label key is missing after 'labels.'")
            return f"labels.{_unquote(rest)}"
        canonical = self.fields.get(word)
        if canonical is None:
            supported = ", ".join(sorted({*self.fields, "labels"}))
            raise self.fail(f"unsupported field {word!r}; supported fields: {supported}")
        return canonical


def parse(text: str | None, fields: Mapping[str, str]) -> Expression:
    """Parse ``text``; ``fields`` maps every accepted spelling to the canonical field name."""
    text = (text or "").strip()
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid(f"Invalid filter: longer than {MAX_FILTER_LENGTH} characters.")
    return _Parser(text, fields).parse() if text else None


def _compare(actual: Any, op: str, value: str) -> bool:
    if op == ":":
        if value == "*":
            return actual is not None
        if actual is None:
            return False
        text = str(actual)
        return fnmatch.fnmatchcase(text, value) if "*" in value else value in text
    if actual is None:
        return op == "!=" and value != "*"
    text = str(actual)
    if op in ("=", "!="):
        equal = fnmatch.fnmatchcase(text, value) if "*" in value else text == value
        return equal if op == "=" else not equal
    left: Any
    right: Any
    left, right = (float(text), float(value)) if _numbers(text, value) else (text, value)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _numbers(*texts: str) -> bool:
    return all(re.fullmatch(r"-?\d+(\.\d+)?", t) for t in texts)


def matches(node: Expression, lookup: Callable[[str], Any], labels: Mapping[str, str]) -> bool:
    """Whether a resource passes; ``lookup(field)`` gives a canonical field's value (None when unset)."""
    if node is None:
        return True
    if isinstance(node, Node):
        if node.kind == "and":
            return all(matches(child, lookup, labels) for child in node.children)
        if node.kind == "or":
            return any(matches(child, lookup, labels) for child in node.children)
        return not matches(node.children[0], lookup, labels)
    if node.field == "labels":
        return node.value in labels if "*" not in node.value else any(
            fnmatch.fnmatchcase(key, node.value) for key in labels)
    if node.field.startswith("labels."):
        return _compare(labels.get(node.field[len("labels."):]), node.op, node.value)
    return _compare(lookup(node.field), node.op, node.value)


def spellings(*canonical: str, aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"display_name": "displayName", "displayName": "displayName", ...}`` for camelCase names."""
    out: dict[str, str] = {}
    for name in canonical:
        out[name] = name
        out[re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()] = name
    out.update(aliases or {})
    return out
