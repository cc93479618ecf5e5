"""Domain errors. They carry no HTTP codes; ``csomatch.api.problems`` maps them.

CsomatchError
├── NotFound             the object does not exist or the caller may not know it does
├── Forbidden            the caller is known but the role may not do this
├── MalformedInput       the request cannot be read as its schema says (names the field)
├── InvalidInput         a value breaks a rule the schema cannot express (names the field)
│   └── RuleBroken       a named service breaks a hard rule of the matcher (names the rule)
├── Conflict             the request contradicts the current state
│   └── StaleVersion     an If-Match version no longer matches (lost update avoided)
├── PreconditionRequired a change needs the version it is based on (If-Match)
├── Spent                a one-time thing (a feedback code) was used or has expired
├── RateLimited          too many attempts from one caller; wait and retry
└── DatabaseUnavailable  PostgreSQL cannot be reached right now; retry later
"""

from __future__ import annotations


class CsomatchError(Exception):
    """Base of every error csomatch raises on purpose."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(CsomatchError):
    """The object does not exist, or the caller may not know that it exists."""


class Forbidden(CsomatchError):
    """The caller is authenticated but their role may not do this."""


class MalformedInput(CsomatchError):
    """The request does not follow its schema; ``field`` says where.

    Not UTF-8 or JSON, a wrong type, an unknown field or parameter, nesting too deep, a NUL
    character.
    """


class InvalidInput(CsomatchError):
    """A value breaks a rule; ``field`` is a JSON path such as ``$.capacity.available``."""


class RuleBroken(InvalidInput):
    """A service named for a referral breaks one of the matcher's hard rules for it.

    ``reason`` is the rule's reason code, the one the matcher reports (``gender``, ``age``,
    ``licence``, ``jurisdiction``...).
    """

    def __init__(self, detail: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.reason = reason


class Conflict(CsomatchError):
    """The request contradicts the current state."""


class StaleVersion(Conflict):
    """The version named in If-Match is no longer the current one."""


class PreconditionRequired(CsomatchError):
    """A change must name the version it is based on."""


class DatabaseUnavailable(CsomatchError):
    """PostgreSQL cannot be reached right now."""


class Spent(CsomatchError):
    """A one-time thing (a feedback code) was used already or has expired."""


class RateLimited(CsomatchError):
    """Too many attempts from one caller in a time window; ``retry_after_s`` says how long."""

    def __init__(self, detail: str, *, retry_after_s: int, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after_s = retry_after_s
