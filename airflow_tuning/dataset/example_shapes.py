"""The typed shapes of canonical Vertex examples (camelCase spelling) that the fast decoders check in C.

One generic family serves every fast decoder: an example is turns of some part type plus an optional
system instruction of text parts, and only the part type and the type of a text vary:

- ``TextExample``: text parts, texts decoded into strings (non-empty, checked by the decoder);
- ``VerbatimTextExample``: text parts, texts kept as their raw JSON slices (``msgspec.Raw``, see ``verbatim``);
- ``RichExample``: text, file and function parts, texts decoded into strings;
- ``VerbatimRichExample``: the same, texts kept as their raw JSON slices.

Fields are declared in sorted order, so the default encoder writes the canonical (sorted-key) line. Unknown
fields are refused, and the role's value is checked by the decoder; only the alternation of roles, the
count of fields set in a part and the limits are left to Python (``fastpath``).

Every struct is ``gc=False``: a decoded example cannot hold a reference cycle, and millions of them decoded
one after the other would otherwise each be tracked by the garbage collector and set off its collections
(about 3 % of validation's time).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

P = TypeVar("P")  # a turn's part type
T = TypeVar("T")  # a text's type
Text = Annotated[str, Meta(min_length=1)]


class TextPart(Struct, Generic[T], gc=False, forbid_unknown_fields=True):
    text: T


class Turn(Struct, Generic[P], gc=False, forbid_unknown_fields=True):
    parts: Annotated[list[P], Meta(min_length=1)]
    role: Literal["user", "model"]


class Instruction(Struct, Generic[T], gc=False, forbid_unknown_fields=True, omit_defaults=True):
    parts: Annotated[list[TextPart[T]], Meta(min_length=1)]
    role: str | UnsetType = UNSET


class Example(Struct, Generic[P, T], gc=False, forbid_unknown_fields=True, omit_defaults=True):
    contents: Annotated[list[Turn[P]], Meta(min_length=1)]
    systemInstruction: Instruction[T] | UnsetType = UNSET  # noqa: N815 - the API's field name


class TextExample(Example[TextPart[Text], Text]):
    """A text-only example, its texts decoded into strings."""


class VerbatimTextExample(Example[TextPart[Raw], Raw]):
    """A text-only example, its texts kept as the raw JSON strings of the line (checked by ``verbatim``)."""


class FileData(Struct, gc=False, forbid_unknown_fields=True):
    fileUri: str  # noqa: N815 - the API's field names
    mimeType: str  # noqa: N815


class FunctionCall(Struct, gc=False, forbid_unknown_fields=True, omit_defaults=True):
    name: Text
    args: dict[str, Any] | UnsetType = UNSET
    id: Any = UNSET


class FunctionResponse(Struct, gc=False, forbid_unknown_fields=True, omit_defaults=True):
    name: Text
    response: dict[str, Any]
    id: Any = UNSET


class AnyPart(Struct, Generic[T], gc=False, forbid_unknown_fields=True, omit_defaults=True):
    """Exactly one field must be set; the decoder checks each field's shape, Python counts them."""

    fileData: FileData | UnsetType = UNSET  # noqa: N815
    functionCall: FunctionCall | UnsetType = UNSET  # noqa: N815
    functionResponse: FunctionResponse | UnsetType = UNSET  # noqa: N815
    text: T | UnsetType = UNSET


class RichExample(Example[AnyPart[Text], Text]):
    """Text, file and function parts; function arguments and responses are free objects."""


class VerbatimRichExample(Example[AnyPart[Raw], Raw]):
    """Text, file and function parts, texts kept as raw JSON slices (checked by ``verbatim``)."""


def roles_alternate(contents: list[Any], single_turn: bool) -> bool:
    """user, model, user, model, ...: an even number of turns that starts with user ends with model (two
    turns only, when ``single_turn``). The decoder checked each role's value; Python checks their order."""
    turns = len(contents)
    if turns == 2:  # the common case, without the loop
        return contents[0].role == "user" and contents[1].role == "model"
    if turns % 2 or single_turn:
        return False
    return [turn.role for turn in contents] == _USER_MODEL * (turns // 2)


_USER_MODEL = ["user", "model"]
