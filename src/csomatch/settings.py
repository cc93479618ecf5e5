"""Settings, built once from the environment and passed down (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec


class SettingsError(ValueError):
    """An environment variable holds a value csomatch cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything csomatch can be configured with; see the README's configuration table."""

    home: Path = Path(".csomatch")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    fresh_hours: float = 24.0
    stale_hours: float = 72.0
    pool_min_size: int = 2
    pool_max_size: int = 10
    connect_timeout_s: float = 30.0
    log_level: str = "info"
    seed_dir: Path | None = None
    #: How long a verified token is trusted without asking the database again: the longest
    #: a revoked token keeps working in a running server (0: ask on every request).
    token_cache_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read ``CSOMATCH_*`` variables; raise SettingsError naming the variable on bad input."""
        values: dict[str, object] = {}
        for name, field_type in (
            ("home", Path),
            ("database_url", str),
            ("host", str),
            ("port", int),
            ("fresh_hours", float),
            ("stale_hours", float),
            ("pool_min_size", int),
            ("pool_max_size", int),
            ("connect_timeout_s", float),
            ("log_level", str),
            ("seed_dir", Path),
            ("token_cache_seconds", float),
        ):
            key = f"CSOMATCH_{name.upper()}"
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            try:
                values[name] = field_type(raw)
            except ValueError as exc:
                raise SettingsError(f"{key}={raw!r} is not a valid {field_type.__name__}") from exc
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise SettingsError when values contradict each other."""
        if not 0 < self.fresh_hours < self.stale_hours:
            raise SettingsError(
                "CSOMATCH_FRESH_HOURS must be positive and below CSOMATCH_STALE_HOURS "
                f"(got {self.fresh_hours} and {self.stale_hours})"
            )
        if not 0 < self.port < 65536:
            raise SettingsError(f"CSOMATCH_PORT must be 1-65535 (got {self.port})")
        if not 0 <= self.token_cache_seconds <= 300:
            raise SettingsError(
                f"CSOMATCH_TOKEN_CACHE_SECONDS must be 0-300 (got {self.token_cache_seconds})"
            )
        if self.pool_min_size < 1 or self.pool_max_size < self.pool_min_size:
            raise SettingsError("CSOMATCH_POOL_MIN_SIZE must be >= 1 and <= CSOMATCH_POOL_MAX_SIZE")
