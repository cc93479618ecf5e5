"""Schemathesis hooks of the conformance runs (tests/api/test_malformed_input.py and
bench/schemathesis_run.py), loaded by path through ``SCHEMATHESIS_HOOKS``.

A POST that creates or changes a referral, a hold or an offer needs an ``Idempotency-Key``
(api/idempotency.py), and a key reused for another request answers 422: each generated POST
gets a fresh key, so that it reaches the route's own checks instead of stopping at the key.
A case that carries the header already (a document declaring it makes schemathesis generate
it, valid or not) is left as it is.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

HEADER = "Idempotency-Key"


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    """Give a POST without its own Idempotency-Key a fresh one."""
    headers = dict(case.headers or {})
    if case.method.upper() == "POST" and not any(k.lower() == HEADER.lower() for k in headers):
        headers[HEADER] = str(uuid.uuid4())
        case.headers = headers
