"""Routes of the web pages and their static files, with strict security headers.

The pages are public: they are plain HTML that holds no data. Everything they show comes from
the JSON API, called by the page's script with the bearer token the user pasted (kept in the
tab's ``sessionStorage``), so without a valid token a page shows nothing but a sign-in link.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from csomatch.api.auth import public

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

#: Each page: its URL, the file holding its ``<main>`` content, its title, its script, and
#: whether it has the navigation (the sign-in page has none).
PAGES = [
    ("/", "index.html", "Sign in", "signin.js", False),
    ("/find", "find.html", "Find services", "find.js", True),
    ("/refer", "refer.html", "Make a referral", "refer.js", True),
    ("/referrals", "referrals.html", "My referrals", "referrals.js", True),
    ("/capacity", "capacity.html", "My capacity", "capacity.js", True),
    ("/offers", "offers.html", "Offers", "offers.js", True),
    ("/registry", "registry.html", "Registry", "registry.js", True),
    ("/gaps", "gaps.html", "Gaps", "gaps.js", True),
    ("/coordination", "coordination.html", "Coordinator's console", "coordination.js", True),
    # The survivor's voice (docs/feedback.md): the public page (no sign-in, no navigation),
    # the printable card of a new code, and the summaries.
    ("/feedback", "feedback.html", "Feedback", "feedback.js", False),
    ("/feedback-card", "feedback-card.html", "Feedback card", "feedbackcard.js", True),
    ("/feedback-summary", "feedback-summary.html", "Feedback", "feedbacksummary.js", True),
    ("/licences", "licences.html", "Licences", "licences.js", True),
    ("/funding", "funding.html", "Funding and runway", "funding.js", True),
]
#: Query parameters a page's script reads (every other one answers 400, as on the API).
PAGE_QUERY = {"/refer": ("referral",), "/feedback-card": ("referral", "need")}
#: The head, header and frame every page shares (``$title``, ``$script``, ``$nav``, ``$main``).
LAYOUT = "layout.html"
NAV = '  <nav id="nav" aria-label="Pages"></nav>\n'


async def secure(response: Response[Any]) -> Response[Any]:
    """Add the security headers to a page or a static file.

    The static files arrive as an ``ASGIFileResponse``: not a ``Response``, but its headers
    are set the same way.
    """
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def render(template: str, title: str, script: str, nav: bool) -> bytes:
    """A page's HTML: its ``<main>`` content in the shared layout (built once, at start)."""
    layout = string.Template((HERE / "templates" / LAYOUT).read_text("utf-8"))
    main = (HERE / "templates" / template).read_text("utf-8")
    return layout.substitute(title=title, script=script, nav=NAV if nav else "", main=main).encode()


def _page(path: str, template: str, title: str, script: str, nav: bool) -> HTTPRouteHandler:
    html = render(template, title, script, nav)
    name = f"page:{template.removesuffix('.html')}"

    @get(
        path,
        name=name,
        media_type=MediaType.HTML,
        sync_to_thread=False,
        opt={"query": PAGE_QUERY.get(path, ())},
    )
    def page() -> Response[bytes]:
        """A web page: plain HTML; its data comes from the API."""
        return Response(html, media_type="text/html; charset=utf-8")

    return page


def _feedback_with_code() -> HTTPRouteHandler:
    """``/feedback/<code>``: the public feedback page, its code in the path (the card's link)."""
    html = render("feedback.html", "Feedback", "feedback.js", False)

    @get("/feedback/{code:str}", name="page:feedback-code", media_type=MediaType.HTML,
         sync_to_thread=False)  # fmt: skip
    def page(code: FromPath[str]) -> Response[bytes]:
        """The public feedback page; its script reads the code from the path."""
        return Response(html, media_type="text/html; charset=utf-8")

    return page


def web_routes() -> list[Router]:
    """The pages under ``/`` and their assets under ``/static``, all public."""
    pages = Router(
        path="/",
        route_handlers=[*(_page(*page) for page in PAGES), _feedback_with_code()],
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
