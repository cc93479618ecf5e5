"""RFC 9457 problem details for every error; never a stack trace, SQL or row data."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from csomatch.errors import (
    Conflict,
    CsomatchError,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    StaleVersion,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[CsomatchError], int, str]] = [
    (NotFound, 404, "Not found"),
    (Forbidden, 403, "Forbidden"),
    (InvalidInput, 422, "Invalid input"),
    (StaleVersion, 412, "Precondition failed"),
    (Conflict, 409, "Conflict"),
    (PreconditionRequired, 428, "Precondition required"),
    (DatabaseUnavailable, 503, "Service unavailable"),
]


def problem(status: int, title: str, detail: str, **extra: object) -> Response[dict[str, object]]:
    """A problem-details response."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra)
    headers = {"Retry-After": "5"} if status == 503 else None
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: CsomatchError) -> tuple[int, str]:
    """The HTTP status and title a domain error maps to."""
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return status, title
    return 400, "Bad request"


def domain_error(_: Request[Any, Any, Any], exc: CsomatchError) -> Response[dict[str, object]]:
    """Map a domain error to its status."""
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            extra = {"field": exc.field} if exc.field else {}
            return problem(status, title, exc.detail, **extra)
    return problem(400, "Bad request", exc.detail)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, object]]:
    """Litestar's own errors (validation, 404 of unknown routes, 405…) as problem details."""
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        field = None
        for error in errors:
            if isinstance(error, dict) and error.get("key"):
                field = str(error["key"])
                break
        detail = exc.detail
        if errors and isinstance(errors[0], dict) and errors[0].get("message"):
            detail = str(errors[0]["message"])
        extra: dict[str, object] = {"errors": errors}
        if field:
            extra["field"] = field
        return problem(400, "Bad request", detail, **extra)
    return problem(exc.status_code, _title(exc.status_code), str(exc.detail))


def database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, object]]:
    """A lost or refused database connection (outside ``db.errors.translated``): 503, retry."""
    log.warning("database unreachable: %s", type(exc).__name__)
    return problem(
        503, "Service unavailable", "the database is not reachable right now; retry shortly"
    )


def unexpected_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, object]]:
    """Anything else: logged with its type, answered without details."""
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return problem(500, "Internal server error", "an unexpected error occurred; it was logged")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


__all__ = [
    "PROBLEM_JSON",
    "MediaType",
    "database_unavailable",
    "domain_error",
    "http_error",
    "problem",
    "status_of",
    "unexpected_error",
]
