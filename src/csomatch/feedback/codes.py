"""Feedback codes as people read them: 16 Crockford base32 characters, 80 random bits.

Printed and read aloud in four groups (``7K3M-Q9XD-2HRT-W8PB``); typed back in any case,
with or without hyphens or spaces, ``O`` read as ``0`` and ``I``/``L`` as ``1`` (Crockford's
rule). Only the SHA-256 of the normalised code is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

#: Crockford's base32 alphabet: digits and letters without I, L, O and U.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Characters of a code: 16 x 5 bits = 80 bits.
LENGTH: Final = 16
BITS: Final = LENGTH * 5
_SAME: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED: Final = str.maketrans("", "", "- \t")


def new_code() -> str:
    """A new random code, 16 characters (80 bits from ``secrets``), without hyphens."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalised(typed: str) -> str | None:
    """The code as stored: upper case, no separators, look-alikes mapped; None if not a code."""
    code = typed.upper().translate(_IGNORED).translate(_SAME)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def grouped(code: str) -> str:
    """The code in four groups of four, for reading aloud and printing."""
    return "-".join(code[i : i + 4] for i in range(0, LENGTH, 4))


def code_hash(code: str) -> bytes:
    """The SHA-256 a normalised code is stored as."""
    return hashlib.sha256(code.encode("ascii")).digest()
