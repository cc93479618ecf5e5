"""bench/online.py on a month of the demo's demand at load 1: it runs in a few seconds, never
leaves a person unplaced while an eligible place is free, and stays within its hindsight
bound (issue 18, item 1)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
import re
import sys
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest

from csomatch.domain import AddressScope
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.snapshot import load_snapshot
from csomatch.settings import Settings

BENCH = Path(__file__).resolve().parents[2] / "bench"
SARAJEVO = "BA-3191281"


def _online(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_online", BENCH / "online.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


async def test_a_month_at_load_one_runs_within_its_bound(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    online = _online(monkeypatch)
    await online.bench(online.parse(["--quick"]), demo_db)
    out = capsys.readouterr().out
    assert "== load 1x" in out
    placed = re.search(r"the policy placed ([\d,]+)", out)
    bound = re.search(r"at most ([\d,]+)", out)
    assert placed is not None
    assert bound is not None
    assert int(placed[1].replace(",", "")) <= int(bound[1].replace(",", ""))
    assert "makes" in out or "not built" in out


async def test_a_refusal_with_an_eligible_place_free_fails_the_simulation(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = _online(monkeypatch)
    settings = Settings(database_url=demo_db)
    woman = NeedsProfile(
        needs=[Need(code="ACC.EMERG")], age_band="25-59", gender="female", languages=["bs"],
        current_area=SARAJEVO, jurisdiction="BA",
    )  # fmt: skip
    conn = await asyncpg.connect(demo_db)
    try:
        snap = await load_snapshot(
            conn, codes=["ACC.EMERG"], areas=[("$", SARAJEVO)],
            now=dt.datetime.now(dt.UTC),
            stale_hours=settings.stale_hours, address_scope=AddressScope(),
        )  # fmt: skip
    finally:
        await conn.close()
    live, _ = online.for_simulation(snap, random.Random(1))
    sim = online.Simulation(live, settings, 1)
    with pytest.raises(AssertionError, match="eligible places were free"):
        sim.check_none_free(woman, live)
    # Every place taken: refusing is then the only answer.
    full = online.with_held(live, {s.id: s.maximum for s in live.services if s.maximum})
    sim.check_none_free(woman, full)
