"""Reference files the tests read, kept in the repository under ``tests/data/``.

Each folder there has a ``SOURCE.txt`` (where the files come from) and its licence; nothing a
test reads lies outside the checkout.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

#: OR-Library generalised assignment instances gap1-gap12 and their optima.
GAP_DIR = DATA / "gap"

#: The IATI 2.03 annotated activity example.
IATI_EXAMPLE = DATA / "iati" / "activity-standard-example-annotated.xml"
