"""The audit key file: made once, private, refused when others may read it, when it cannot be
read, when it is not a key, or when it lies inside PostgreSQL's data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from csomatch.audit.key import AuditKeyError, key_path, load_key
from csomatch.settings import Settings, SettingsError


def test_the_first_load_makes_a_private_key_and_later_ones_read_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    key = load_key(settings, create=True)
    path = tmp_path / "home" / "audit.key"
    assert key_path(settings) == path
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().strip()) == 64
    again = load_key(settings, create=True)
    assert again.sign(b"p", b"m") == key.sign(b"p", b"m")
    assert path.read_text().strip() not in repr(key)
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit.key"]  # no leftovers


def test_the_key_file_setting_wins_over_the_home(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"CSOMATCH_HOME": str(tmp_path / "home"), "CSOMATCH_AUDIT_KEY_FILE": str(tmp_path / "k")}
    )
    load_key(settings, create=True)
    assert (tmp_path / "k").is_file()
    assert not (tmp_path / "home" / "audit.key").exists()


def test_verifying_never_makes_a_key(tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match=r"no audit key at .*CSOMATCH_AUDIT_KEY_FILE"):
        load_key(Settings(home=tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    settings = Settings(home=tmp_path)
    load_key(settings, create=True)
    (tmp_path / "audit.key").chmod(mode)
    with pytest.raises(AuditKeyError, match=f"mode {mode:04o}.*chmod 600"):
        load_key(settings, create=True)


def test_a_key_inside_the_database_directory_is_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, audit_key_file=tmp_path / "pgdata" / "audit.key")
    with pytest.raises(AuditKeyError, match="inside PostgreSQL's data directory"):
        load_key(settings, create=True)
    assert not (tmp_path / "pgdata").exists()


@pytest.mark.parametrize("content", ["", "not a key\n", "ab" * 8 + "\n"])
def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "audit.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match="does not hold an audit key"):
        load_key(Settings(home=tmp_path), create=True)


def test_a_directory_is_not_a_key(tmp_path: Path) -> None:
    (tmp_path / "audit.key").mkdir(mode=0o700)
    with pytest.raises(AuditKeyError, match="not a regular file"):
        load_key(Settings(home=tmp_path))


def test_a_key_this_user_cannot_read_is_refused(tmp_path: Path) -> None:
    load_key(Settings(home=tmp_path), create=True)
    (tmp_path / "audit.key").chmod(0o000)
    code = (
        "import sys; from pathlib import Path; from csomatch.settings import Settings;"
        "from csomatch.audit.key import load_key, AuditKeyError\n"
        "try: load_key(Settings(home=Path(sys.argv[1])), create=True)\n"
        "except AuditKeyError as e: print(e); sys.exit(2)"
    )
    # root reads any file: run it as root without that power (util-linux's setpriv).
    without_override = (
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    )
    result = subprocess.run(
        [*without_override, sys.executable, "-c", code, str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot read the audit key" in result.stdout
    assert "permission denied" in result.stdout


def test_the_checkpoint_interval_is_checked() -> None:
    assert Settings.from_env({}).audit_checkpoint_interval_s == 60
    assert (
        Settings.from_env({"CSOMATCH_AUDIT_CHECKPOINT_INTERVAL_S": "5"}).audit_checkpoint_interval_s
        == 5
    )
    for bad in ("0", "-1", "7200"):
        with pytest.raises(SettingsError, match="CSOMATCH_AUDIT_CHECKPOINT_INTERVAL_S"):
            Settings.from_env({"CSOMATCH_AUDIT_CHECKPOINT_INTERVAL_S": bad})
