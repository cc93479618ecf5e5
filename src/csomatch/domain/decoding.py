"""Untrusted JSON, read in one place: UTF-8, nesting, NUL characters, strict types, zones.

Every JSON body csomatch reads (API requests, uploaded 360Giving files) goes through
:func:`decode`, so that what PostgreSQL or Python would choke on further in is refused here,
with the JSONPath of the field (``$.needs[2].code``):

- bytes that are not UTF-8 (JSON text is UTF-8, RFC 8259);
- text that is not JSON;
- nesting deeper than :data:`MAX_DEPTH` (msgspec, ``str()`` and ``repr()`` recurse on it);
- a value of the wrong type: decoding is strict, so ``"50"`` is not the integer 50;
- a NUL character in any string or member name (PostgreSQL ``text`` cannot hold one);
- a timestamp without a zone (400: "02:00" where?) or one that cannot be a real event of the
  registry (before :data:`EARLIEST` or from :data:`LATEST` on, in UTC: 422).

All but the last raise :class:`~csomatch.errors.MalformedInput` (400); a timestamp out of range
raises :class:`~csomatch.errors.InvalidInput` (422).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from csomatch.domain.codes import decode_code
from csomatch.errors import InvalidInput, MalformedInput
from csomatch.i18n import _

#: Containers inside containers a JSON document may hold. Every body of the API is at most a
#: few levels deep; a 360Giving grant about five.
MAX_DEPTH: Final = 64
#: Timestamps sent to csomatch are events of the registry: from 1970 to 2099 (UTC).
EARLIEST: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_MEMBER = re.compile(r"^Object (?P<what>contains unknown|missing required) field `(?P<name>.*)`$")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_BYTE = re.compile(r"\(byte (?P<offset>\d+)\)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUL_ESCAPE = b"\\u0000"


def decode(data: bytes, type_: Any = Any) -> Any:
    """``data`` as ``type_`` (strictly), or MalformedInput / InvalidInput naming the field."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput(
            _(
                "the body is not UTF-8 text (byte {start}); send JSON encoded as UTF-8",
                start=exc.start,
            ),
            field=_path_in_text(data, offset=exc.start),
        ) from None
    try:
        value = _decoder(type_).decode(data)
    except RecursionError:
        raise _too_deep(_path_in_text(data, max_depth=MAX_DEPTH)) from None
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None
    except msgspec.DecodeError as exc:
        found = _BYTE.search(str(exc))
        # msgspec counts the byte it stopped at; the value at fault is just before it.
        where = _path_in_text(data, offset=max(int(found["offset"]) - 1, 0)) if found else "$"
        raise MalformedInput(
            _(
                "the body is not valid JSON ({exc}); check the text around {where}",
                exc=_plain(str(exc)),
                where=where,
            ),
            field=where,
        ) from None
    if type_ is Any:
        _check_document(value)
    else:
        if _NUL_ESCAPE in data:
            # Only a body holding the escape can hold the character (raw control characters
            # are not JSON); find where, in the document as sent.
            try:
                _check_document(msgspec.json.decode(data))
            except RecursionError:
                raise _too_deep(_path_in_text(data, max_depth=MAX_DEPTH)) from None
        if _holds_timestamps(type_):
            _check_timestamps(value)
    return value


@functools.cache
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    """One strict decoder per body type (building one costs more than a small decode).

    Codes checked against a maintained list (languages, countries) are decoded by their hook.
    """
    return msgspec.json.Decoder(type_, strict=True, dec_hook=decode_code)


def member(path: str, name: str) -> str:
    """The JSONPath of member ``name`` of the object at ``path``."""
    if _IDENTIFIER.match(name):
        return f"{path}.{name}"
    return f"{path}[{msgspec.json.encode(name).decode()}]"


def _plain(message: str) -> str:
    return message.replace("`", "")


def _invalid(text: str) -> MalformedInput:
    """The error of a msgspec validation message, e.g. "Expected `int`, got `str` - at `$.x`"."""
    parts = _AT.match(text)
    assert parts is not None  # the pattern matches any text
    message, path = parts["message"], parts["path"] or "$"
    if found := _MEMBER.match(message):
        name = found["name"]
        if found["what"] == "missing required":
            return MalformedInput(_("{name} is required", name=name), field=member(path, name))
        return MalformedInput(
            _(
                "unknown field {name}: leave it out (each body's fields are in the API "
                "schema, /schema/openapi.json)",
                name=repr(name),
            ),
            field=member(path, name),
        )
    if found := _EXPECTED.match(message):
        want, got = found["want"], found["got"]
        hint = ""
        if got == "str" and want in ("int", "float", "bool", "decimal"):
            hint = f"; send a JSON {'number' if want != 'bool' else 'true or false'}, not a string"
        return MalformedInput(
            _("expected {want}, got {got}{hint}", want=want, got=got, hint=hint), field=path
        )
    return MalformedInput(_plain(message), field=path)


def _too_deep(path: str) -> MalformedInput:
    return MalformedInput(
        _(
            "JSON nested deeper than {max_depth} levels; no field of this API is nested so deep",
            max_depth=MAX_DEPTH,
        ),
        field=path,
    )


def _nul(path: str) -> MalformedInput:
    return MalformedInput(
        _("the text holds a NUL character (\\u0000), which cannot be stored; remove it"),
        field=path,
    )


def _check_document(document: Any) -> None:
    """Refuse a NUL character in any string or member name, and nesting beyond MAX_DEPTH.

    Iterative, so that a deep document cannot exhaust the stack here either.
    """
    stack: list[tuple[Any, str, int]] = [(document, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise _nul(path)
        elif isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise _too_deep(_trim_indices(path))
            for key, item in reversed(value.items()):
                if "\x00" in key:
                    raise _nul(path)
                stack.append((item, member(path, key), depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                raise _too_deep(_trim_indices(path))
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], f"{path}[{index}]", depth + 1))


def _trim_indices(path: str) -> str:
    """``$.needs[0][0][0]`` -> ``$.needs``: the member whose value is nested too deep."""
    return re.sub(r"(\[\d+\])+$", "", path) or "$"


@functools.cache
def _holds_timestamps(type_: Any) -> bool:
    """Whether values of ``type_`` can hold a datetime (most request bodies cannot)."""
    return _info_holds_datetime(mi.type_info(type_), set())


def _info_holds_datetime(info: mi.Type, seen: set[int]) -> bool:
    if isinstance(info, mi.DateTimeType):
        return True
    if id(info) in seen:
        return False
    seen.add(id(info))
    for name in info.__struct_fields__:
        attribute = getattr(info, name)
        for child in attribute if isinstance(attribute, tuple) else (attribute,):
            inner = child.type if isinstance(child, mi.Field) else child
            if isinstance(inner, mi.Type) and _info_holds_datetime(inner, seen):
                return True
    return False


def _check_timestamps(value: Any) -> None:
    """Every datetime in a decoded body has a zone and lies from EARLIEST to before LATEST."""
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dt.datetime):
            _check_timestamp(item, path)
        elif isinstance(item, msgspec.Struct):
            names = zip(item.__struct_fields__, item.__struct_encode_fields__, strict=True)
            stack.extend((getattr(item, name), member(path, sent)) for name, sent in names)
        elif isinstance(item, list | tuple):
            stack.extend((inner, f"{path}[{i}]") for i, inner in enumerate(item))
        elif isinstance(item, dict):
            stack.extend((inner, member(path, str(key))) for key, inner in item.items())


def _check_timestamp(value: dt.datetime, path: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise MalformedInput(
            _(
                "the timestamp {value} has no zone; add one, e.g. {value}Z (UTC) or {value}+01:00",
                value=value.isoformat(),
            ),
            field=path,
        )
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise InvalidInput(
            _(
                "the timestamp {value} is out of range: send one from {year} to {value2} (UTC)",
                value=value.isoformat(),
                year=EARLIEST.year,
                value2=LATEST.year - 1,
            ),
            field=path,
        )


class _Frame:
    """A container the scanner of :func:`_path_in_text` is inside."""

    __slots__ = ("expect_key", "index", "is_object", "key")

    def __init__(self, *, is_object: bool) -> None:
        self.is_object = is_object
        self.expect_key = is_object
        self.key: str | None = None
        self.index = 0


def _path_in_text(data: bytes, *, offset: int | None = None, max_depth: int | None = None) -> str:
    """The JSONPath of the value at byte ``offset`` of a JSON text, or of one nested too deep.

    With ``max_depth``: the path of the value nested more than ``max_depth`` containers deep
    (the member holding it). For error messages only: it reads the text byte by byte, without
    recursion, and tolerates malformed text.
    """
    frames: list[_Frame] = []
    end = len(data) if offset is None else min(offset, len(data))
    i = 0
    while i < end:
        c = data[i]
        if c == 0x22:  # a string: a member name or a value
            j = i + 1
            while j < len(data) and data[j] != 0x22:
                j += 2 if data[j] == 0x5C else 1
            top = frames[-1] if frames else None
            if j < end and top is not None and top.is_object and top.expect_key:
                top.key = _key_text(data[i + 1 : j])
            i = j + 1
            continue
        if c in b"{[":
            frames.append(_Frame(is_object=c == 0x7B))
            if max_depth is not None and len(frames) > max_depth:
                frames.pop()
                return _trim_indices(_render(frames))
        elif c in b"}]":
            if frames:
                frames.pop()
        elif c == 0x2C and frames:  # ,
            top = frames[-1]
            if top.is_object:
                top.expect_key, top.key = True, None
            else:
                top.index += 1
        elif c == 0x3A and frames:  # :
            frames[-1].expect_key = False
        i += 1
    return _render(frames)


def _render(frames: list[_Frame]) -> str:
    path = "$"
    for frame in frames:
        if not frame.is_object:
            path += f"[{frame.index}]"
        elif frame.key is not None and not frame.expect_key:
            path = member(path, frame.key)
        else:
            break
    return path


def _key_text(raw: bytes) -> str:
    try:
        text: str = msgspec.json.decode(b'"' + raw + b'"')
    except (msgspec.DecodeError, UnicodeDecodeError):
        text = raw.decode("utf-8", "replace")
    return text.replace("\x00", "\\u0000")
