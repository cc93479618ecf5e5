"""Argument types that several commands share."""

from __future__ import annotations

import argparse


def positive_int(raw: str) -> int:
    """A whole number of at least 1 (argparse names the flag when it is not)."""
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
