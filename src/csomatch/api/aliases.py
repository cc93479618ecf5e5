"""One name per filter: ``code``, ``participant``, ``area``, ``period`` on every endpoint.

Some routes named a filter otherwise (``/api/v1/gaps?service=``, ``/api/v1/areas?code=`` for
area codes, ``/api/v1/coordination/*?jurisdiction=``, ``/api/v1/feedback/summary?quarter=``).
The old names keep working for one release: each is declared with :func:`old_name`, which
marks it ``deprecated`` in the OpenAPI document (the parameter and its schema), and the
handler takes the value with :func:`either`, which refuses both names at once. Problems a
use case raises about the old field name are renamed to the name the caller sent
(:func:`field_named`). ``/hsds/`` and the search's ``area`` (an origin, not a filter) keep
their meaning. docs/api.md "Query parameter names".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Router
from litestar.config.app import AppConfig
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIType, Operation, Schema
from litestar.params import QueryParameter

from csomatch.errors import CsomatchError, MalformedInput
from csomatch.i18n import _

T = TypeVar("T")


def old_name(new: str, *, repeatable: bool = False, **constraints: Any) -> QueryParameter:
    """The query parameter of a filter's old name: deprecated, described as ``new``'s alias.

    ``repeatable``: a list of strings (``?code=A&code=B``), drawn as ``api.params.list_query``.
    """
    extra: dict[str, Any] = {"deprecated": True}
    if repeatable:
        extra |= {
            "one_of": None,
            "type": OpenAPIType.ARRAY,
            "items": Schema(type=OpenAPIType.STRING),
        }
    return QueryParameter(
        description=f"deprecated: the old name of {new}, for one release; send {new}",
        schema_extra=extra,
        **constraints,
    )


def either(new: T | None, old: T | None, *, new_name: str, old_name: str) -> T | None:
    """The value of a filter sent under its new or its old name (400 when both are sent)."""
    if new is not None and old is not None:
        raise MalformedInput(
            _(
                "send {new_name} only: {old_name} is its old name",
                new_name=new_name,
                old_name=old_name,
            ),
            field=f"query.{old_name}",
        )
    return new if new is not None else old


@contextmanager
def field_named(old_field: str, new_field: str, *, new_sent: bool) -> Iterator[None]:
    """Rename a problem's field from the old parameter name to the new one the caller sent."""
    try:
        yield
    except CsomatchError as error:
        if new_sent and error.field in {old_field, f"query.{old_field}"}:
            error.field = f"query.{new_field}"
        raise


def _mark(operation: Operation) -> None:
    """Set ``deprecated`` on each parameter whose inline schema says ``deprecated``."""
    for parameter in operation.parameters or ():
        schema = getattr(parameter, "schema", None)
        if isinstance(schema, Schema) and schema.deprecated:
            parameter.deprecated = True  # type: ignore[union-attr]


def _marking(base: type[Operation]) -> type[Operation]:
    """A subclass of a route's operation class that marks the deprecated parameters."""
    parent = getattr(base, "__post_init__", None)

    def post_init(self: Operation) -> None:
        if parent is not None:
            parent(self)
        _mark(self)

    return dataclass(type(f"Marked{base.__name__}", (base,), {"__post_init__": post_init}))


def _handlers(values: Any) -> Iterator[HTTPRouteHandler]:
    for value in values:
        if isinstance(value, HTTPRouteHandler):
            yield value
        elif isinstance(value, Router):
            for route in value.routes:
                yield from _handlers(getattr(route, "route_handlers", ()))


def mark_deprecated_parameters(app_config: AppConfig) -> AppConfig:
    """``on_app_init``: every route's old parameter names show ``deprecated: true`` in OpenAPI."""
    for handler in _handlers(app_config.route_handlers):
        if not handler.operation_class.__name__.startswith("Marked"):
            handler.operation_class = _marking(handler.operation_class)
    return app_config
