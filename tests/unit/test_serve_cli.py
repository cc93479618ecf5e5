"""``csomatch serve`` flags and the deployment settings (no server is started here)."""

from __future__ import annotations

import pytest

from csomatch.cli import main, parser
from csomatch.settings import Settings, SettingsError


def test_serve_help_names_the_flags_their_variables_and_the_recovery(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for said in (
        "--host", "CSOMATCH_HOST", "--port", "CSOMATCH_PORT", "--workers N", "CSOMATCH_WORKERS",
        "Flags win over the variables", "/healthz", "/readyz", "408",
    ):  # fmt: skip
        assert said in text, said


def test_serve_flags_are_checked_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSOMATCH_PORT", "8000")
    assert main(["serve", "--port", "70000"]) == 2
    assert "CSOMATCH_PORT must be 1-65535" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])


def test_deployment_variables_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "CSOMATCH_WORKERS": "4",
            "CSOMATCH_READ_TIMEOUT_S": "5",
            "CSOMATCH_READ_DEADLINE_S": "30",
            "CSOMATCH_EMBEDDED_RESTART_ATTEMPTS": "3",
        }
    )
    assert (settings.workers, settings.read_timeout_s, settings.read_deadline_s) == (4, 5.0, 30.0)
    assert settings.embedded_restart_attempts == 3
    defaults = Settings()
    assert defaults.workers == 1
    assert defaults.read_timeout_s < 10  # a body that never arrives is dropped within 10 s
    for bad in (
        {"CSOMATCH_WORKERS": "0"},
        {"CSOMATCH_READ_TIMEOUT_S": "90", "CSOMATCH_READ_DEADLINE_S": "60"},
        {"CSOMATCH_EMBEDDED_RESTART_ATTEMPTS": "0"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)
