"""What a server remembers to spare work on searches: the empty searches it recorded today,
and the views of the search index's service records."""

from __future__ import annotations

import datetime as dt

import msgspec
from tests.unit.matching.matching_factories import make_service

from csomatch.api.schemas.registry import ServiceViews, service_out
from csomatch.search.demand import RecordedToday

DAY = dt.date(2026, 12, 1)


def test_recorded_keys_are_new_again_the_next_day() -> None:
    seen = RecordedToday()
    assert seen.new(["a", "b"], DAY) == ["a", "b"]
    seen.add(["a"])
    assert seen.new(["a", "b"], DAY) == ["b"]
    assert seen.new(["a", "b"], DAY + dt.timedelta(days=1)) == ["a", "b"]


def test_recorded_keys_are_bounded_oldest_forgotten_first() -> None:
    seen = RecordedToday(size=2)
    seen.new([], DAY)
    seen.add(["a", "b", "c"])
    assert seen.new(["a", "b", "c"], DAY) == ["a"]


def test_a_view_is_made_once_per_record_reveal_and_tier() -> None:
    views = ServiceViews()
    svc = make_service(confidential=True)
    first = views.of(svc, reveal=False, freshness="fresh")
    assert first == service_out(svc, reveal=False, freshness="fresh")
    assert views.of(svc, reveal=False, freshness="fresh") is first
    assert views.of(svc, reveal=True, freshness="fresh") == service_out(
        svc, reveal=True, freshness="fresh"
    )
    assert views.of(svc, reveal=False, freshness="stale") == service_out(
        svc, reveal=False, freshness="stale"
    )
    # A changed record is a new object: it gets its own view, never the old one.
    changed = msgspec.structs.replace(svc, name="Fictional Renamed Shelter")
    assert views.of(changed, reveal=False, freshness="fresh").name == "Fictional Renamed Shelter"


def test_views_are_bounded() -> None:
    views = ServiceViews(size=2)
    records = [make_service() for _ in range(3)]
    made = [views.of(r, reveal=False, freshness="fresh") for r in records]
    assert views.of(records[2], reveal=False, freshness="fresh") is made[2]
    assert views.of(records[0], reveal=False, freshness="fresh") is not made[0]  # forgotten
