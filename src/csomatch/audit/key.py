"""The audit key: 32 random bytes in a file of their own (mode 0600), never in the database.

The server creates the file at its first start; every process that writes or verifies the
audit log reads the same file (``CSOMATCH_AUDIT_KEY_FILE``, default
``$CSOMATCH_HOME/audit.key``). A file that others may read, that cannot be read, or that lies
inside PostgreSQL's data directory is refused with a message saying what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from csomatch.db.audit import AuditKey
from csomatch.settings import Settings, SettingsError

log = logging.getLogger(__name__)

KEY_BYTES = 32


class AuditKeyError(SettingsError):
    """The audit key file is missing, unreadable, too open or not a key."""


def key_path(settings: Settings) -> Path:
    """Where the audit key lives: ``CSOMATCH_AUDIT_KEY_FILE`` or ``$CSOMATCH_HOME/audit.key``."""
    return (settings.audit_key_file or settings.home / "audit.key").expanduser()


def load_key(settings: Settings, *, create: bool = False) -> AuditKey:
    """Read the audit key; with ``create``, make the file first if it does not exist.

    Raises AuditKeyError, whose message says what is wrong and how to fix it.
    """
    path = key_path(settings)
    pgdata = (settings.home / "pgdata").expanduser().resolve()
    if path.resolve().is_relative_to(pgdata):
        raise AuditKeyError(
            f"the audit key {path} is inside PostgreSQL's data directory {pgdata}, where the"
            " database (and a copy or backup of it) could read it; set"
            " CSOMATCH_AUDIT_KEY_FILE to a path outside it"
        )
    if create and not path.exists():
        _create(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AuditKeyError(
            f"no audit key at {path}: the server creates it at its first start; to verify or"
            " write the log of an existing server, set CSOMATCH_AUDIT_KEY_FILE to that"
            " server's key file"
        ) from None
    except PermissionError:
        raise _unreadable(path) from None
    except OSError as exc:
        raise AuditKeyError(f"cannot reach the audit key {path} ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise AuditKeyError(f"the audit key {path} is not a regular file")
    if info.st_mode & 0o077:
        raise AuditKeyError(
            f"the audit key {path} may be read by other users (mode"
            f" {stat.S_IMODE(info.st_mode):04o}); it must be private to csomatch:"
            f" chmod 600 {path}"
        )
    try:
        text = path.read_text("ascii").strip()
    except PermissionError:
        raise _unreadable(path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"cannot read the audit key {path} ({exc})") from exc
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < KEY_BYTES:
        raise AuditKeyError(
            f"{path} does not hold an audit key ({2 * KEY_BYTES} or more hex digits); restore"
            " the key file from your backup (a new key cannot verify the events already signed)"
        )
    return AuditKey(secret)


def _unreadable(path: Path) -> AuditKeyError:
    return AuditKeyError(
        f"cannot read the audit key {path} (permission denied); run csomatch as the user"
        " that owns it, or set CSOMATCH_AUDIT_KEY_FILE to a key file this user can read"
    )


def _create(path: Path) -> None:
    """Write a new key atomically, unless another process made one first (then theirs is used).

    The key goes to a private temporary file, linked into place only if no key is there yet.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return
    finally:
        temporary.unlink()
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    log.warning("created a new audit key at %s: back it up; the audit log is signed with it", path)
