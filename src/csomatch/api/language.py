"""The request's language: chosen once per request, said in every answer.

The pages' language switch sets the cookie ``csomatch.lang``; without it the request's
``Accept-Language`` decides (``csomatch.i18n.choose_locale``, docs/i18n.md). The locale is
put in a context variable for the rest of the request, so deep code (a use case that raises
a domain error, the matcher's reasons, the gaps' sentences) says ``_()`` without being
handed it, and every answer carries ``Content-Language``.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from csomatch.i18n import COOKIE, choose_locale, set_locale

#: What an answer's language depends on.
VARY = b"Accept-Language, Cookie"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(header: str | None) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def locale_of_scope(scope: Scope) -> str:
    """The served locale a request asks for (its cookie, else its Accept-Language)."""
    return choose_locale(_cookie(_header(scope, b"cookie")), _header(scope, b"accept-language"))


def locale_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The served locale of a request, for code that has the request (exception handlers)."""
    return choose_locale(connection.cookies.get(COOKIE), connection.headers.get("accept-language"))


def language_middleware(app: ASGIApp) -> ASGIApp:
    """Set the request's locale for ``_()`` and add ``Content-Language`` to its answer."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        locale = locale_of_scope(scope)
        set_locale(locale)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(key.lower() == b"content-language" for key, _ in headers):
                    headers.append((b"content-language", locale.encode("ascii")))
                if not any(key.lower() == b"vary" for key, _ in headers):
                    # A cache must not hand one person's language to another.
                    headers.append((b"vary", VARY))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_language)

    return middleware
