"""Routes of the web pages and their static files, with strict security headers.

The pages are public: they are plain HTML that holds no data. Everything they show comes from
the JSON API, called by the page's script with the bearer token the user pasted (kept in the
tab's ``sessionStorage``), so without a valid token a page shows nothing but a sign-in link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.handlers import HTTPRouteHandler
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

#: URL and template of each page.
PAGES = [
    ("/", "index.html"),
    ("/find", "find.html"),
    ("/refer", "refer.html"),
    ("/capacity", "capacity.html"),
    ("/offers", "offers.html"),
    ("/registry", "registry.html"),
    ("/gaps", "gaps.html"),
]


async def secure(response: Response[Any]) -> Response[Any]:
    """Add the security headers to a page or a static file.

    The static files arrive as an ``ASGIFileResponse``: not a ``Response``, but its headers
    are set the same way.
    """
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _page(path: str, template: str) -> HTTPRouteHandler:
    html = (HERE / "templates" / template).read_bytes()
    name = f"page:{template.removesuffix('.html')}"

    @get(path, name=name, media_type=MediaType.HTML, sync_to_thread=False)
    def page() -> Response[bytes]:
        """A web page: plain HTML; its data comes from the API."""
        return Response(html, media_type="text/html; charset=utf-8")

    return page


def web_routes() -> list[Router]:
    """The pages under ``/`` and their assets under ``/static``, all public."""
    pages = Router(
        path="/",
        route_handlers=[_page(path, template) for path, template in PAGES],
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
