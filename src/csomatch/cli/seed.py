"""``csomatch seed``: load the fictional demo registry (running it twice adds nothing)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from csomatch.cli.db import connected, database, prepare, progress
from csomatch.i18n import _
from csomatch.registry import seeding
from csomatch.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``seed`` to the ``csomatch`` parser."""
    seed = sub.add_parser(
        "seed", help="load the fictional demo registry (running it twice adds nothing)"
    )
    seed.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Load the demo registry (idempotent)."""
    with database(settings) as url:
        asyncio.run(_seed(url, settings))
    return 0


async def _seed(url: str, settings: Settings) -> None:
    await prepare(url, settings)
    async with connected(url) as conn:
        report = await seeding.load_demo(
            conn,
            settings.seed_dir or seeding.default_seed_dir(),
            now=dt.datetime.now(dt.UTC),
            progress=progress,
        )
    added = sum(int(getattr(report, f)) for f in report.__struct_fields__)
    print(_("seed loaded: {added} rows added", added=added), file=sys.stderr)
