"""``csomatch funding`` in a subprocess on a test database: import, report, matches, rates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reference import IATI_EXAMPLE as EXAMPLE

pytestmark = pytest.mark.slow


def csomatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI."""
    return subprocess.run(
        [sys.executable, "-m", "csomatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def cli_env(demo_db: str, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment on this test's database."""
    return {
        **os.environ,
        "CSOMATCH_DATABASE_URL": demo_db,
        "CSOMATCH_HOME": str(tmp_path),
        "CSOMATCH_LOG_LEVEL": "warning",
    }


def test_import_prints_the_report_and_is_idempotent(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    grants = tmp_path / "grants.csv"
    grants.write_text(
        "funder,recipient,amount,currency,start,end,external id\n"
        "Marigold Foundation,Amber Heron Legal Aid Centre,100,EUR,2025-01-01,2025-12-31,C-1\n"
        "Marigold Foundation,Amber Heron Legal Aid,100,EUR,2025-01-01,2025-12-31,C-2\n"
        "Marigold Foundation,Amber Heron Legal Aid Centre,abc,EUR,2025-01-01,2025-12-31,C-3\n"
    )
    dry = csomatch("funding", "import", str(grants), "--dry-run", env=cli_env)
    assert dry.returncode == 0, dry.stderr
    assert "DRY RUN" in dry.stdout
    first = csomatch("funding", "import", str(grants), "--json", env=cli_env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["imported"], report["skipped"]) == (2, 1)
    assert report["skips"][0] == {"where": "row 4", "reason": "'abc' is not an amount",
                                  "field": "amount"}  # fmt: skip
    again = csomatch("funding", "import", str(grants), env=cli_env)
    assert "unchanged        2" in again.stdout
    assert "row 4 [amount]: 'abc' is not an amount" in again.stdout
    assert "Amber Heron Legal Aid" in again.stdout  # listed for review

    (review_id,) = [u["review_id"] for u in report["unmatched"]]
    listed = csomatch("funding", "matches", env=cli_env)
    assert review_id in listed.stdout
    confirmed = csomatch("funding", "matches", "--confirm", review_id, env=cli_env)
    assert confirmed.returncode == 0, confirmed.stderr
    assert "1 funding rows linked" in confirmed.stdout
    assert "no recipients waiting" in csomatch("funding", "matches", env=cli_env).stdout


def test_iati_example_and_rates(cli_env: dict[str, str], tmp_path: Path) -> None:
    imported = csomatch("funding", "import", str(EXAMPLE), env=cli_env)
    assert imported.returncode == 0, imported.stderr
    assert "(iati)" in imported.stdout
    assert "AA-AAA-123456789" in imported.stdout
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,eur_per_unit\nUSD,2025-01-01,0.95\n")
    stored = csomatch("funding", "rates", "import", str(rates), env=cli_env)
    assert stored.returncode == 0, stored.stderr
    assert "1 rates stored" in stored.stdout
    listing = csomatch("funding", "rates", env=cli_env).stdout
    assert "ILLUSTRATIVE" in listing
    assert "0.9500000000" in listing
    bad = tmp_path / "bad.csv"
    bad.write_text("currency,valid_from,eur_per_unit\nUSD,2025-01-01,-1\n")
    refused = csomatch("funding", "rates", "import", str(bad), env=cli_env)
    assert refused.returncode == 1
    assert "row 2, column eur_per_unit" in refused.stderr


def test_token_for_a_funder(cli_env: dict[str, str]) -> None:
    made = csomatch(
        "token", "create", "--role", "funder", "--jurisdiction", "MARRI",
        "--funder", "FUND-FDN-MARIGOLD", env=cli_env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("cso_")
    unknown = csomatch(
        "token", "create", "--role", "funder", "--jurisdiction", "MARRI",
        "--funder", "NO-SUCH", env=cli_env,
    )  # fmt: skip
    assert unknown.returncode != 0
    wrong_role = csomatch(
        "token", "create", "--role", "officer", "--jurisdiction", "RS",
        "--funder", "FUND-FDN-MARIGOLD", env=cli_env,
    )  # fmt: skip
    assert wrong_role.returncode == 2
