"""Untrusted JSON: each refusal names the field by its JSONPath, and nothing recurses on input."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
import pytest

from csomatch.domain.decoding import MAX_DEPTH, decode, member
from csomatch.errors import InvalidInput, MalformedInput


class Need(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    count: Annotated[int, msgspec.Meta(ge=0)]
    needs: list[Need] = []
    at: dt.datetime | None = None
    tags: dict[str, str] = {}


def refused(data: bytes, type_: Any = Body) -> MalformedInput:
    with pytest.raises(MalformedInput) as caught:
        decode(data, type_)
    return caught.value


def test_a_good_body_decodes_to_its_type() -> None:
    body = decode(
        b'{"count": 2, "needs": [{"code": "A"}], "at": "2026-12-01T02:00:00+01:00"}', Body
    )
    assert body == Body(
        count=2,
        needs=[Need(code="A")],
        at=dt.datetime(2026, 12, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )


def test_types_are_strict() -> None:
    assert refused(b'{"count": "2"}').field == "$.count"
    assert "not a string" in refused(b'{"count": "2"}').detail
    assert refused(b'{"count": 2.5}').field == "$.count"
    assert refused(b'{"count": -1}').field == "$.count"
    assert refused(b'{"count": 1, "needs": [{"code": 5}]}').field == "$.needs[0].code"


def test_unknown_and_missing_fields_are_named() -> None:
    assert refused(b'{"count": 1, "beds": 2}').field == "$.beds"
    assert refused(b'{"count": 1, "needs": [{}]}').field == "$.needs[0].code"
    assert refused(b'{"count": 1, "odd name": 2}').field == '$["odd name"]'
    assert refused(b"{}").field == "$.count"


def test_a_nul_character_anywhere_is_refused_with_its_path() -> None:
    assert refused(b'{"count": 1, "needs": [{"code": "A\\u0000"}]}').field == "$.needs[0].code"
    assert refused(b'{"count": 1, "tags": {"a": "b\\u0000"}}').field == "$.tags.a"
    assert refused(b'{"count": 1, "tags": {"a\\u0000": "b"}}').field == "$.tags"
    # An escaped backslash before "u0000" is text, not a NUL.
    assert decode(b'{"count": 1, "tags": {"a": "\\\\u0000"}}', Body).tags == {"a": "\\u0000"}
    assert refused(b'{"grants": [{"title": "x\\u0000"}]}', Any).field == "$.grants[0].title"


def test_invalid_utf8_names_where_it_is() -> None:
    assert refused(b'{"count": 1, "tags": {"a": "\xff"}}').field == "$.tags.a"
    assert refused(b'{"count": 1, "tags": {"\xe6": "b"}}').field == "$.tags"
    assert refused(b"\xff").field == "$"
    assert "UTF-8" in refused(b'{"count": "\xff"}').detail


def test_malformed_json_names_where_it_breaks() -> None:
    assert refused(b'{"count": 1, "needs": [{"code": tru}]}').field == "$.needs[0].code"
    assert refused(b'{"count": 1,').field == "$"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_refused_without_recursing(depth: int) -> None:
    deep = b"[" * depth + b"]" * depth
    assert refused(b'{"grants": [{"title": ' + deep + b"}]}", Any).field == "$.grants[0].title"
    assert refused(deep, Any).field == "$"
    assert refused(b'{"count": 1, "needs": ' + deep + b"}").field == "$.needs[0]"
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    assert refused(objects, Any).field == "$" + ".a" * MAX_DEPTH


def test_nesting_up_to_the_limit_is_fine() -> None:
    shallow = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert decode(shallow, Any) is not None


def test_a_timestamp_needs_a_zone_and_a_year_from_1970_to_2099() -> None:
    naive = refused(b'{"count": 1, "at": "2026-12-01T02:00:00"}')
    assert (naive.field, "zone" in naive.detail) == ("$.at", True)
    for at in (b"0001-01-01T00:00:00+05:00", b"9999-12-31T23:00:00-05:00", b"1969-12-31T23:59:59Z"):
        with pytest.raises(InvalidInput) as caught:
            decode(b'{"count": 1, "at": "' + at + b'"}', Body)
        assert caught.value.field == "$.at"
    assert decode(b'{"count": 1, "at": "2099-12-31T23:59:59Z"}', Body).at is not None


def test_member_paths_quote_odd_names() -> None:
    assert member("$", "code") == "$.code"
    assert member("$.a", "b c") == '$.a["b c"]'
    assert member("$", 'q"') == '$["q\\""]'
