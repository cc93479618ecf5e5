"""HMAC-SHA256 signatures of webhook deliveries (``X-Csomatch-Signature: t=...,v1=...``).

The signed message is ``f"{t}.".encode() + body``: the Unix time of the attempt, a dot and
the exact request body. A receiver recomputes it with its secret, compares in constant time
and rejects old timestamps (replays). docs/notifications.md shows a receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Csomatch-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 -- a prefix, not a secret


def new_secret() -> str:
    """A fresh per-subscription signing secret (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance_s: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
