"""Routes of the web pages and their static files, with strict security headers.

The pages are public: they are plain HTML that holds no data. Everything they show comes from
the JSON API, called by the page's script with the bearer token the user pasted (kept in the
tab's ``sessionStorage``), so without a valid token a page shows nothing but a sign-in link.
"""

from __future__ import annotations

import hashlib
import html
import json
import string
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from csomatch.api.auth import public
from csomatch.i18n import (
    COOKIE,
    DEFAULT_LOCALE,
    LOCALES,
    catalogue_path,
    choose_locale,
    gettext_for,
)
from csomatch.i18n.templates import localise

HERE = Path(__file__).parent
STATIC_PATH = "/static"

#: No inline script or style, nothing from another origin, never inside a frame.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Pages and their scripts change with a release: revalidate rather than serve a stale copy.
REVALIDATE = CacheControlHeader(no_cache=True)


#: Each page: its URL, the file holding its ``<main>`` content, its title (an English msgid
#: of the ``web`` catalogue, marked with page_title()), its script, and
#: whether it has the navigation (the sign-in page has none).
def page_title(text: str) -> str:
    """Mark a page's title for the ``web`` catalogue (translated when the page is rendered)."""
    return text


PAGES = [
    ("/", "index.html", page_title("Sign in"), "signin.js", False),
    ("/find", "find.html", page_title("Find services"), "find.js", True),
    ("/refer", "refer.html", page_title("Make a referral"), "refer.js", True),
    ("/referrals", "referrals.html", page_title("My referrals"), "referrals.js", True),
    ("/capacity", "capacity.html", page_title("My capacity"), "capacity.js", True),
    ("/offers", "offers.html", page_title("Offers"), "offers.js", True),
    ("/registry", "registry.html", page_title("Registry"), "registry.js", True),
    ("/gaps", "gaps.html", page_title("Gaps"), "gaps.js", True),
    (
        "/coordination",
        "coordination.html",
        page_title("Coordinator's console"),
        "coordination.js",
        True,
    ),
    # The survivor's voice (docs/feedback.md): the public page (no sign-in, no navigation),
    # the printable card of a new code, and the summaries.
    ("/feedback", "feedback.html", page_title("Feedback"), "feedback.js", False),
    ("/feedback-card", "feedback-card.html", page_title("Feedback card"), "feedbackcard.js", True),
    (
        "/feedback-summary",
        "feedback-summary.html",
        page_title("Feedback"),
        "feedbacksummary.js",
        True,
    ),
    ("/licences", "licences.html", page_title("Licences"), "licences.js", True),
    ("/funding", "funding.html", page_title("Funding and runway"), "funding.js", True),
]
#: Query parameters a page's script reads (every other one answers 400, as on the API).
PAGE_QUERY = {"/refer": ("referral",), "/feedback-card": ("referral", "need")}
#: The head, header and frame every page shares (``$lang``, ``$title``, ``$script``, ``$nav``,
#: ``$languages``, ``$main``).
LAYOUT = "layout.html"
NAV = '  <nav id="nav" aria-label="[[Pages]]"></nav>\n'
#: The language switch names each language in that language (never translated).
LANGUAGE_NAMES = {
    "en": "English",
    "sq": "Shqip",
    "sr-Latn": "Srpski (latinica)",
    "sr-Cyrl": "Српски (ћирилица)",
    "mk": "Македонски",
    "bs": "Bosanski",
}


async def secure(response: Response[Any]) -> Response[Any]:
    """Add the security headers to a page or a static file.

    The static files arrive as an ``ASGIFileResponse``: not a ``Response``, but its headers
    are set the same way.
    """
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def request_locale(request: Request[Any, Any, Any]) -> str:
    """The served locale of a page request: the switch's cookie, else ``Accept-Language``."""
    return choose_locale(request.cookies.get(COOKIE), request.headers.get("accept-language"))


def _language_options(locale: str) -> str:
    """The ``<option>`` lines of the language switch, the page's language selected."""
    return "".join(
        f'      <option value="{tag}" lang="{tag}"{" selected" if tag == locale else ""}>'
        f"{html.escape(name)}</option>\n"
        for tag, name in LANGUAGE_NAMES.items()
    )


def render(
    template: str, title: str, script: str, nav: bool, locale: str = DEFAULT_LOCALE
) -> bytes:
    """A page's HTML in one locale: its ``<main>`` content in the shared layout."""
    layout = string.Template((HERE / "templates" / LAYOUT).read_text("utf-8"))
    main = (HERE / "templates" / template).read_text("utf-8")
    _ = gettext_for(locale, "web")
    page = layout.substitute(
        lang=locale,
        title=html.escape(_(title), quote=False),
        script=script,
        nav=NAV if nav else "",
        languages=_language_options(locale),
        main=main,
    )
    return localise(page, _).encode()


def _page_response(pages: dict[str, bytes], request: Request[Any, Any, Any]) -> Response[bytes]:
    """The page in the request's locale, saying which language it is in."""
    locale = request_locale(request)
    return Response(
        pages[locale],
        media_type="text/html; charset=utf-8",
        headers={"Content-Language": locale, "Vary": "Cookie, Accept-Language"},
    )


def _page(path: str, template: str, title: str, script: str, nav: bool) -> HTTPRouteHandler:
    pages = {locale: render(template, title, script, nav, locale) for locale in LOCALES}
    name = f"page:{template.removesuffix('.html')}"

    @get(
        path,
        name=name,
        media_type=MediaType.HTML,
        sync_to_thread=False,
        opt={"query": PAGE_QUERY.get(path, ())},
    )
    def page(request: Request[Any, Any, Any]) -> Response[bytes]:
        """A web page: plain HTML in the reader's language; its data comes from the API."""
        return _page_response(pages, request)

    return page


def _feedback_with_code() -> HTTPRouteHandler:
    """``/feedback/<code>``: the public feedback page, its code in the path (the card's link)."""
    pages = {locale: render("feedback.html", page_title("Feedback"), "feedback.js", False, locale)
             for locale in LOCALES}  # fmt: skip

    @get("/feedback/{code:str}", name="page:feedback-code", media_type=MediaType.HTML,
         sync_to_thread=False)  # fmt: skip
    def page(code: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
        """The public feedback page; its script reads the code from the path."""
        return _page_response(pages, request)

    return page


@cache
def catalogue_json(locale: str) -> tuple[bytes, str]:
    """The ``web`` catalogue of a served locale as JSON (msgid -> translation) and its ETag.

    Built from the same ``.po`` file the templates are translated from; fuzzy and empty
    entries are left out, so the page shows the English msgid for them.
    """
    entries: dict[str, str] = {}
    po = catalogue_path(locale, "web")
    if locale != DEFAULT_LOCALE and po.exists():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale.replace("-", "_"))
        for message in catalog:
            # Plural entries (tuples) are not used by the pages: see i18n.js's plural().
            text = message.string
            if isinstance(message.id, str) and isinstance(text, str) and text and not message.fuzzy:
                entries[message.id] = text
    body = json.dumps(entries, ensure_ascii=False, sort_keys=True).encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@get("/i18n/{name:str}", name="i18n:web", sync_to_thread=False)
def web_catalogue(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    """The pages' words in one language (``/i18n/sq.json``), loaded by i18n.js.

    Revalidated with its ETag, so a release's new words are never served stale.
    """
    locale = name.removesuffix(".json")
    if locale not in LOCALES or not name.endswith(".json"):
        raise NotFoundException(detail=f"No catalogue {name!r}: one of {', '.join(LOCALES)}.")
    body, etag = catalogue_json(locale)
    headers = {"ETag": etag, "Content-Language": locale}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def web_routes() -> list[Router]:
    """The pages under ``/`` and their assets under ``/static``, all public."""
    pages = Router(
        path="/",
        route_handlers=[*(_page(*page) for page in PAGES), _feedback_with_code(), web_catalogue],
        after_request=secure,
        cache_control=REVALIDATE,
        include_in_schema=False,
        opt=public(),
    )
    static = create_static_files_router(
        path=STATIC_PATH,
        directories=[HERE / "static"],
        after_request=secure,
        cache_control=REVALIDATE,
        opt=public(),
    )
    return [pages, static]
