"""RFC 9457 problem details for every error; never a stack trace, SQL or row data.

Every error answer is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` (what is wrong and how to fix it) and, when one field is at fault, ``field``:

- a JSONPath into the JSON body: ``$.available``, ``$.needs[2].code`` (``$``: the body as a
  whole, e.g. an uploaded file);
- ``query.area``, ``path.org_id`` or ``header.If-Match`` for a parameter or header.

Domain errors name fields as the layer that raises them knows them (a use case says ``area``;
it does not know whether that came from a query parameter or a body); :func:`locate` turns
them into the form above from what the route declares.

:func:`document_problems` declares the problem answers of every route in the OpenAPI
document once (an ``on_app_init`` hook), from what each route declares: its roles, path
parameters, body, query parameters and If-Match.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any, Final

import msgspec
from litestar import MediaType, Request, Response
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.router import Router
from msgspec import UNSET, UnsetType

from csomatch.api.language import locale_of
from csomatch.errors import (
    Conflict,
    CsomatchError,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    MalformedInput,
    NotFound,
    PreconditionRequired,
    RateLimited,
    RuleBroken,
    Spent,
    StaleVersion,
)
from csomatch.i18n import N_, _, current_locale, set_locale

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Titles are English msgids, said in the request's language by :func:`problem`.
_STATUS: list[tuple[type[CsomatchError], int, str]] = [
    (NotFound, 404, N_("Not found")),
    (Forbidden, 403, N_("Forbidden")),
    (MalformedInput, 400, N_("Bad request")),
    (InvalidInput, 422, N_("Invalid input")),
    (StaleVersion, 412, N_("Precondition failed")),
    (Conflict, 409, N_("Conflict")),
    (PreconditionRequired, 428, N_("Precondition required")),
    (DatabaseUnavailable, 503, N_("Service unavailable")),
    (Spent, 410, N_("Gone")),
    (RateLimited, 429, N_("Too many requests")),
]
#: The titles of the HTTP errors Litestar raises itself (by status).
_HTTP_TITLES: Final = {
    400: N_("Bad request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    406: N_("Not acceptable"),
    409: N_("Conflict"),
    413: N_("Content too large"),
    415: N_("Unsupported media type"),
    429: N_("Too many requests"),
    500: N_("Internal server error"),
    503: N_("Service unavailable"),
}
#: Litestar's own details, said in the request's language (others stay as Litestar says them).
_HTTP_DETAILS: Final = {
    "Not Found": N_("no such address; see /api/v1/schema for the API's routes"),
    "Method Not Allowed": N_("this address does not accept this method"),
    "Request Entity Too Large": N_("the body is too large"),
    "Content Too Large": N_("the body is too large"),
    "Unsupported Media Type": N_("this content type is not accepted here"),
}
#: Request headers a problem may name, by their lower-case name.
_HEADERS: Final = {
    name.lower(): name for name in ("If-Match", "Idempotency-Key", "Last-Event-ID", "Content-Type")
}
#: Fields of use cases that mean the request body as a whole (an uploaded file).
_WHOLE_BODY: Final = frozenset({"file", "body", "header"})
_LOCATED: Final = ("$", "query.", "header.", "path.", "cookie.")
_BASE_NAME = re.compile(r"^[^.\[]*")


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One of several fields at fault."""

    field: str
    detail: str


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem: what is wrong (``detail``, with how to fix it) and where."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    #: ``$.available`` (JSONPath into the body), ``query.area``, ``path.id``, ``header.If-Match``.
    field: str | UnsetType = UNSET
    #: Every field at fault, when there are several.
    errors: list[FieldProblem] | UnsetType = UNSET
    #: A hold refused for want of places: how many are free now (None: unknown).
    free_places: int | UnsetType | None = UNSET
    #: A care plan refused: the need (its index) and the service that could not be held.
    need: int | UnsetType = UNSET
    service_id: str | UnsetType = UNSET
    #: A service refused by one of the matcher's hard rules: the rule's reason code.
    reason: str | UnsetType = UNSET


def problem(status: int, title: str, detail: str, **extra: object) -> Response[dict[str, object]]:
    """A problem-details response in the current locale (``Content-Language`` says which).

    ``title`` is an English msgid, translated here; ``detail`` is already in the locale
    (a domain error's is said where it is raised). ``type`` and ``field`` stay as they are:
    machines read them.
    """
    body: dict[str, object] = {"type": "about:blank", "title": _(title), "status": status}
    body["detail"] = detail
    body.update(extra)
    field = body.get("field")
    if isinstance(field, str) and field.lower() in _HEADERS:
        body["field"] = f"header.{_HEADERS[field.lower()]}"
    headers = {"Content-Language": current_locale(), "Vary": "Accept-Language, Cookie"}
    if status == 503:
        headers["Retry-After"] = "5"
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: CsomatchError) -> tuple[int, str]:
    """The HTTP status and title a domain error maps to."""
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return status, title
    return 400, "Bad request"


def locate(field: str, connection: ASGIConnection[Any, Any, Any, Any] | None) -> str:
    """A field as a problem names it: prefixed by where it is (query, header or body).

    ``area`` -> ``query.area`` on a route whose query parameter it is, ``If-Match`` ->
    ``header.If-Match``, ``available`` -> ``$.available``.
    """
    if field.startswith(_LOCATED):
        return field
    if field.lower() in _HEADERS:
        return f"header.{_HEADERS[field.lower()]}"
    base = _BASE_NAME.match(field)
    name = base.group(0) if base else field
    declared = _declared(connection)
    if declared is not None and name in declared:
        return declared[name] + field[len(name) :]
    if field in _WHOLE_BODY:
        return "$"
    return f"$.{field}" if name else f"${field}"


def _declared(connection: ASGIConnection[Any, Any, Any, Any] | None) -> dict[str, str] | None:
    if connection is None:
        return None
    params = getattr(connection.app.state, "declared_parameters", None)
    try:
        handler = connection.route_handler
    except (AttributeError, KeyError):
        return None
    if params is None or handler is None:
        return None
    fields: dict[str, str] = params.of(connection).fields
    return fields


def problem_members(
    exc: CsomatchError, connection: ASGIConnection[Any, Any, Any, Any] | None
) -> dict[str, object]:
    """What a domain error adds to its problem.

    ``field``; a refused hold's ``free_places``; a refused plan's ``need`` and
    ``service_id``; a broken rule's ``reason``.
    """
    status = status_of(exc)[0]
    field = exc.field
    if field is None and isinstance(exc, StaleVersion | PreconditionRequired):
        field = "header.If-Match"  # the one precondition this API checks
    extra: dict[str, object] = {"field": locate(field, connection)} if field else {}
    free = getattr(exc, "free", UNSET)
    if free is not UNSET and status == 409:
        extra["free_places"] = free
    need = getattr(exc, "need", UNSET)
    if need is not UNSET and status in (409, 422):
        extra["need"] = need
        extra["service_id"] = str(getattr(exc, "service_id", ""))
    if isinstance(exc, RuleBroken):
        extra["reason"] = exc.reason
    return extra


def domain_error(
    request: Request[Any, Any, Any], exc: CsomatchError
) -> Response[dict[str, object]]:
    """Map a domain error to its status, naming its field."""
    set_locale(locale_of(request))
    status, title = status_of(exc)
    answer = problem(status, title, exc.detail, **problem_members(exc, request))
    if isinstance(exc, RateLimited):
        answer.headers["Retry-After"] = str(exc.retry_after_s)
    return answer


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, object]]:
    """Litestar's own errors (parameters, 401, 403, 404 of unknown routes, 405, 413…)."""
    set_locale(locale_of(request))
    if isinstance(exc, ValidationException):
        found = [e for e in exc.extra if isinstance(e, dict)] if isinstance(exc.extra, list) else []
        errors = [
            FieldProblem(field=_litestar_field(e, request), detail=_litestar_detail(e))
            for e in found
        ]
        if not errors:
            return problem(400, N_("Bad request"), _plain(str(exc.detail)), field="$")
        extra: dict[str, object] = {"field": errors[0].field}
        if len(errors) > 1:
            extra["errors"] = [msgspec.structs.asdict(e) for e in errors]
        return problem(400, N_("Bad request"), f"{errors[0].field}: {errors[0].detail}", **extra)
    detail = str(exc.detail)
    return problem(exc.status_code, _title(exc.status_code), _(_HTTP_DETAILS.get(detail, detail)))


def _litestar_field(error: dict[str, Any], request: Request[Any, Any, Any]) -> str:
    """The field of one of Litestar's validation errors (``key`` is the Python name)."""
    key = str(error.get("key") or "")
    if not key or key == "data":  # the body as a whole (none was sent)
        return "$"
    if error.get("source") == "body":
        return f"$.{key}"
    return locate(key, request)


def _litestar_detail(error: dict[str, Any]) -> str:
    if error.get("key") == "data":
        return _("send the request's JSON body (Content-Type: application/json)")
    return _plain(str(error.get("message")))


def _plain(message: str) -> str:
    return message.replace("`", "")


def database_unavailable(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, object]]:
    """A lost or refused database connection (outside ``db.errors.translated``): 503, retry."""
    log.warning("database unreachable: %s", type(exc).__name__)
    set_locale(locale_of(request))
    return problem(
        503,
        N_("Service unavailable"),
        _("the database is not reachable right now; retry shortly"),
    )


def unexpected_error(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, object]]:
    """Anything else: logged with its type, answered without details."""
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    set_locale(locale_of(request))
    return problem(
        500, N_("Internal server error"), _("an unexpected error occurred; it was logged")
    )


def _title(status: int) -> str:
    """The English title of an HTTP status (an msgid when csomatch answers it in practice)."""
    if status in _HTTP_TITLES:
        return _HTTP_TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# -- The OpenAPI document: the problem answers of every route, declared once. --

_WHY: Final = {
    400: "The request does not follow the schema (body, parameter or header); `field` says "
    "where. Also an unknown query parameter.",
    401: "No valid bearer token.",
    403: "The token's role may not do this.",
    404: "No such object, or not one the caller may see.",
    409: "The change contradicts the current state (e.g. no free places: `free_places`).",
    412: "If-Match names a version that is no longer current: read it again.",
    413: "The body is too large.",
    422: "A value breaks a rule the schema cannot express; `field` says which (a service "
    "that breaks a hard rule of the matcher: `reason`, the rule's code).",
    428: "The change needs If-Match with the ETag last read.",
    503: "The database cannot be reached right now; retry after `Retry-After` seconds.",
}
_CHANGES: Final = frozenset({HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE})


def problem_statuses(handler: HTTPRouteHandler) -> set[int]:
    """The problem statuses a route can answer, from what it declares."""
    statuses = {400}
    parameters = handler.parsed_fn_signature.parameters
    public = handler.opt.get("roles") == "public"
    if not public:
        statuses |= {401, 403, 503}
    if "conn" in parameters or "request" in parameters:
        statuses.add(503)
    path_params = any(
        "{" in path and not path.endswith(":path}") for path in handler.paths
    )  # an object named in the path may not exist
    changes = bool(handler.http_methods & _CHANGES)
    if not public and (path_params or changes):
        statuses.add(404)
    if not public and (changes or "data" in parameters or _has_query(handler)):
        statuses.add(422)
    if changes and not public:
        statuses |= {409, 413}
    if any(_is_if_match(p) for p in parameters.values()):
        statuses |= {412, 428}
    return statuses


def _has_query(handler: HTTPRouteHandler) -> bool:
    reserved = {"conn", "settings", "principal", "request", "state", "data", "headers", "query"}
    return any(
        name not in reserved and not _is_path(handler, name)
        for name in handler.parsed_fn_signature.parameters
    )


def _is_path(handler: HTTPRouteHandler, name: str) -> bool:
    return any(f"{{{name}:" in path or f"{{{name}}}" in path for path in handler.paths)


def _is_if_match(parameter: Any) -> bool:
    kwarg = getattr(parameter, "kwarg_definition", None)
    return str(getattr(kwarg, "name", "") or "").lower() == "if-match"


def problem_responses(handler: HTTPRouteHandler) -> dict[int, ResponseSpec]:
    """The problem answers of a route for the OpenAPI document."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_WHY[status],
            generate_examples=False,
        )
        for status in sorted(problem_statuses(handler))
    }


def document_problems(app_config: AppConfig) -> AppConfig:
    """Declare the problem answers of every route (its own ``responses`` come first)."""
    for handler in _handlers(app_config.route_handlers):
        own = dict(handler.responses or {})
        handler.responses = {**problem_responses(handler), **own}
    return app_config


def _handlers(values: Any) -> list[HTTPRouteHandler]:
    found: list[HTTPRouteHandler] = []
    for value in values:
        if isinstance(value, HTTPRouteHandler):
            found.append(value)
        elif isinstance(value, Router):
            for route in value.routes:
                found.extend(_handlers(getattr(route, "route_handlers", ())))
    return found


__all__ = [
    "PROBLEM_JSON",
    "MediaType",
    "Problem",
    "database_unavailable",
    "document_problems",
    "domain_error",
    "http_error",
    "locate",
    "problem",
    "problem_members",
    "status_of",
    "unexpected_error",
]
