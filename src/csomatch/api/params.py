"""What every request must be before a handler sees it: its JSON body, its parameters, If-Match.

- :class:`CsomatchRequest` reads a handler's JSON body (``data: JSONBody[...]``) with
  :func:`csomatch.domain.decoding.decode`: UTF-8, at most 64 levels deep, no NUL character,
  strict types (``"50"`` is not 50), timestamps with a zone. Litestar's own reading would
  decode loosely and let the rest through to PostgreSQL.
- :func:`check_parameters`, a guard on every route (API, pages, static files), refuses a query
  parameter the handler does not declare (a typo such as ``?aera=`` would otherwise be
  ignored silently and answer something else than asked), a one-value parameter given twice
  (Litestar would take one of them silently) and a NUL character in any query or path
  parameter. A page declares the parameters its script reads in ``opt["query"]``.
- :class:`DeclaredParameters` knows, per handler, which query, path and header parameters it
  declares; ``api.problems`` uses it to name fields ``query.area``, ``path.org_id``,
  ``header.If-Match``.
- :data:`IfMatch` and :func:`version_of`: the ETag precondition of the PUT and PATCH routes;
  :data:`ETAG` and :func:`etag`: the ETag of an answer.
- The query parameters several routes share: :data:`ParticipantQ`, :data:`Offset`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.enums import ParamType
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import HeaderParameter, QueryParameter
from litestar.types import Empty

from csomatch.domain import PARTICIPANT_PATTERN, decoding
from csomatch.errors import MalformedInput, PreconditionRequired, StaleVersion
from csomatch.i18n import _

#: Versions are PostgreSQL ``integer`` columns: an ETag beyond this was never given out.
MAX_VERSION: Final = 2**31 - 1
IF_MATCH_PATTERN: Final = r'^(W/)?"[0-9]{1,20}"$'
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        pattern=IF_MATCH_PATTERN,
        description='the ETag you last read (e.g. "3"); 412 when it is no longer current',
    ),
]

#: The ETag of an answer: the version its PUT or PATCH checks in If-Match.
ETAG = [ResponseHeader(name="ETag", documentation_only=True, description='the version, e.g. "3"')]
ParticipantQ = Annotated[
    str | None, QueryParameter(pattern=PARTICIPANT_PATTERN, description="participant code")
]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="rows to skip")]


def etag(version: int) -> str:
    """The ETag of a version: ``"3"``."""
    return f'"{version}"'


def list_query(description: str, *, max_items: int | None = None) -> QueryParameter:
    """A repeatable query parameter (``?code=A&code=B``), for ``list[str] | None = None``.

    Its OpenAPI schema is an array of strings, not "array or null" as Litestar draws an
    optional list: a query parameter is sent or not, it is never null, and a generator that
    takes "null" for a possible value sends things no client would.
    """
    return QueryParameter(
        description=description,
        max_items=max_items,
        schema_extra={
            "one_of": None,
            "type": OpenAPIType.ARRAY,
            "items": Schema(type=OpenAPIType.STRING),
        },
    )


#: Names Litestar reserves for whole parts of a request: a handler taking ``query`` reads
#: every query parameter itself.
_WHOLE_QUERY: Final = "query"


class Declared(msgspec.Struct, frozen=True, kw_only=True):
    """The parameters one handler declares."""

    #: Query parameter names as sent (aliases); None: the handler reads the whole query.
    query: frozenset[str] | None
    #: Query parameters that take one value (not a list): sent twice, which one was meant?
    single: frozenset[str]
    #: Parameter name (Python or as sent) -> the field a problem names: ``query.state``.
    fields: dict[str, str]


class DeclaredParameters:
    """The parameters of each route handler, worked out once per handler (per app)."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, frozenset[str]], tuple[BaseRouteHandler, Declared]] = {}

    def of(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Declared:
        """What the handler of this request declares."""
        handler = connection.route_handler
        path_names = frozenset(connection.scope.get("path_params", {}))
        key = (id(handler), path_names)
        kept = self._known.get(key)
        if kept is not None and kept[0] is handler:
            return kept[1]
        declared = _declared(handler, path_names)
        self._known[key] = (handler, declared)
        return declared


def _declared(handler: BaseRouteHandler, path_names: frozenset[str]) -> Declared:
    model = handler.create_kwargs_model(path_parameters=dict.fromkeys(path_names))  # type: ignore[arg-type]
    fields: dict[str, str] = {}
    prefixes = {ParamType.QUERY: "query", ParamType.HEADER: "header", ParamType.COOKIE: "cookie"}
    for group, kind in (
        (model.expected_query_params, ParamType.QUERY),
        (model.expected_header_params, ParamType.HEADER),
        (model.expected_cookie_params, ParamType.COOKIE),
    ):
        for param in group:
            alias = (
                _header_name(param.field_alias) if kind is ParamType.HEADER else param.field_alias
            )
            fields[param.field_name] = fields[param.field_alias] = f"{prefixes[kind]}.{alias}"
    for name in path_names:
        fields[name] = f"path.{name}"
    whole_query = _WHOLE_QUERY in handler.parsed_fn_signature.parameters
    # A page declares in ``opt["query"]`` the parameters its script reads (web/pages.py).
    read_elsewhere = handler.opt.get("query", ())
    query = None
    if not whole_query:
        query = frozenset(p.field_alias for p in model.expected_query_params)
        query |= frozenset(read_elsewhere)
    single = frozenset(p.field_alias for p in model.expected_query_params if not p.is_sequence)
    return Declared(query=query, single=single, fields=fields)


def _header_name(alias: str) -> str:
    """``if-match`` -> ``If-Match`` (Litestar keeps header aliases in lower case)."""
    return "-".join(part[:1].upper() + part[1:] for part in alias.split("-"))


def shown(name: str) -> str:
    """A parameter name as it may be echoed in a problem: control characters escaped."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in name)


def check_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Refuse (400) an undeclared query parameter, one value given twice, and a NUL character.

    The NUL character is refused in any parameter; a value given twice, where the parameter
    takes one.
    """
    declared: Declared = connection.app.state.declared_parameters.of(connection)
    seen: set[str] = set()
    for name, value in connection.query_params.multi_items():
        field = f"query.{shown(name)}"
        if declared.query is not None and name not in declared.query:
            takes = ", ".join(sorted(declared.query)) or "no query parameters"
            raise MalformedInput(
                _(
                    "unknown query parameter {name}: this route takes {takes}",
                    name=repr(shown(name)),
                    takes=takes,
                ),
                field=field,
            )
        if name in declared.single and name in seen:
            raise MalformedInput(
                _("give {name} once (it takes one value)", name=shown(name)), field=field
            )
        seen.add(name)
        if isinstance(value, str) and "\x00" in value:
            raise MalformedInput(
                _(
                    "{name} holds a NUL character (%00), which cannot be stored; remove it",
                    name=shown(name),
                ),
                field=field,
            )
    for name, value in connection.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise MalformedInput(
                _("the path holds a NUL character (%00); remove it"), field=f"path.{name}"
            )


class CsomatchRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read strictly, as its handler's ``data`` type."""

    __slots__ = ()

    async def json(self) -> Any:
        """The body decoded as the handler's ``data`` type (see :mod:`csomatch.domain.decoding`)."""
        if self._json is not Empty:
            return self._json
        target = self.route_handler.parsed_fn_signature.parameters.get("data")
        body = await self.body()
        if target is None:
            value = decoding.decode(body or b"null")
        elif not body.strip():
            if not (target.is_optional or target.has_default):
                raise MalformedInput(
                    _("send the request's JSON body (Content-Type: application/json)"), field="$"
                )
            value = None
        else:
            value = decoding.decode(body, target.annotation)
        self._json = self._connection_state.json = value
        return value


def version_of(if_match: str | None, *, required: bool) -> int | None:
    """The version an ``If-Match`` header names (validated by :data:`IfMatch`'s pattern)."""
    if if_match is None:
        if required:
            raise PreconditionRequired(
                _("send If-Match with the ETag you last read"), field="header.If-Match"
            )
        return None
    version = int(if_match.removeprefix("W/").strip('"'))
    if version > MAX_VERSION:
        raise StaleVersion(
            _(
                "If-Match {if_match} is no version this API gave out; GET the current "
                "ETag and re-apply your change",
                if_match=if_match,
            ),
            field="header.If-Match",
        )
    return version
