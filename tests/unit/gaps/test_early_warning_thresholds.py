"""The early warning's thresholds file and window (gaps/early_warnings.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from csomatch.errors import InvalidInput
from csomatch.gaps.early_warnings import (
    DEFAULT_THRESHOLDS,
    _suppressed,
    load_thresholds,
    window,
)
from csomatch.settings import Settings, SettingsError


def test_a_file_overrides_code_by_code_and_null_removes(tmp_path: Path) -> None:
    path = tmp_path / "warn.json"
    path.write_text('{"ACC.EMERG": 21, "PSY.CRISIS": 7, "ACC.FOSTER": null}')
    got = load_thresholds(path)
    assert got["ACC.EMERG"] == 21
    assert got["PSY.CRISIS"] == 7
    assert "ACC.FOSTER" not in got
    assert got["ACC.SECURE"] == DEFAULT_THRESHOLDS["ACC.SECURE"] == 14
    assert load_thresholds(None) == dict(DEFAULT_THRESHOLDS)


@pytest.mark.parametrize("text", ['{"ACC.EMERG": 0}', '{"ACC.EMERG": "soon"}', "[1]", "{"])
def test_a_bad_file_says_what_is_wrong(tmp_path: Path, text: str) -> None:
    path = tmp_path / "warn.json"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=r"warn\.json"):
        load_thresholds(path)


def test_the_setting_must_name_a_file(tmp_path: Path) -> None:
    env = {"CSOMATCH_EARLY_WARNING_FILE": str(tmp_path / "missing.json")}
    with pytest.raises(SettingsError, match="CSOMATCH_EARLY_WARNING_FILE"):
        Settings.from_env(env)


def test_the_window_is_the_last_three_closed_months() -> None:
    assert window(dt.date(2026, 12, 3)) == (dt.date(2026, 9, 1), dt.date(2026, 12, 1))
    assert window(dt.date(2026, 2, 28)) == (dt.date(2025, 11, 1), dt.date(2026, 2, 1))


def test_a_funder_loses_small_counts_and_their_complement() -> None:
    """A total of 1-4 hides every row of the code; a single small group hides another too."""
    arrivals = {
        ("RS", "ACC.EMERG"): {"all": 29, "women": 20, "men": 6, "families": 3},
        ("RS", "ACC.CHILD"): {"all": 3, "unaccompanied_children": 3},
        ("RS", "LEGAL.AID"): {"all": 40, "women": 25, "men": 15},
    }
    hidden = _suppressed(arrivals)
    assert ("RS", "ACC.EMERG", "families") in hidden
    assert ("RS", "ACC.EMERG", "men") in hidden  # else 29 - 20 - 6 gives families away
    assert ("RS", "ACC.EMERG", "all") not in hidden
    assert ("RS", "ACC.EMERG", "women") not in hidden
    assert {("RS", "ACC.CHILD", "all"), ("RS", "ACC.CHILD", "unaccompanied_children")} <= hidden
    assert not any(key[1] == "LEGAL.AID" for key in hidden)
