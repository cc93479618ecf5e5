"""Settings, built once from the environment and passed down (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec


class SettingsError(ValueError):
    """An environment variable holds a value csomatch cannot use."""


#: Settings that weigh the matcher's soft terms (non-negative, in km or km per unit).
MATCH_WEIGHTS = (
    "match_other_language_km",
    "match_interpreter_km",
    "match_km_per_hour_of_age",
    "match_general_service_km",
    "match_no_free_place_km",
    "match_acceptance_km",
    "match_feedback_km",
    "match_proximity_weight",
)


def boolean(raw: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``) from an environment variable."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


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
    # The matcher (docs/matching.md): its time limit, and the weights of its soft terms in
    # kilometres of travel they are worth (scaled to integer points in matching/terms.py).
    match_time_limit_s: float = 5.0
    match_other_language_km: float = 5.0
    match_interpreter_km: float = 20.0
    match_km_per_hour_of_age: float = 0.5
    match_general_service_km: float = 10.0
    match_no_free_place_km: float = 30.0
    match_acceptance_km: float = 40.0
    match_feedback_km: float = 20.0
    match_proximity_weight: float = 1.0
    # Referrals: how long an offer waits for the provider's answer, per urgency; how often
    # the sweeper expires offers; how long idempotency keys are kept.
    hold_minutes_emergency: float = 60.0
    hold_minutes_urgent: float = 1440.0
    hold_minutes_planned: float = 1440.0
    #: How long an accepted offer waits for the referrer's confirmation before it expires
    #: (and frees its places) like an unanswered one.
    confirm_hours: float = 24.0
    sweep_seconds: float = 30.0
    idempotency_hours: float = 24.0
    #: Notifications (docs/notifications.md): webhook retries, the background dispatcher
    #: (0 seconds turns it off) and how often an event stream looks for new events.
    webhook_max_attempts: int = 8
    webhook_backoff_s: float = 30.0
    webhook_backoff_max_s: float = 3600.0
    webhook_timeout_s: float = 10.0
    webhook_allow_http: bool = False
    #: Allow webhook URLs on loopback, private or link-local addresses (tests, a private
    #: deployment); off, such a URL is refused and a name resolving to one is not called.
    webhook_allow_private: bool = False
    dispatch_interval_s: float = 1.0
    events_poll_s: float = 1.0
    #: The audit log (docs/audit-and-retention.md): the file of the key that signs it (None:
    #: ``home/audit.key``), and how often a signed checkpoint of its head is written.
    audit_key_file: Path | None = None
    audit_checkpoint_interval_s: float = 60.0
    #: How long a verified token is trusted without asking the database again: the longest
    #: a revoked token keeps working in a running server (0: ask on every request).
    token_cache_seconds: float = 10.0
    #: Answer searches from the in-memory index kept equal to the tables by notifications
    #: (docs/search.md); off: every search runs the SQL statement.
    search_index: bool = True
    #: Retention (docs/audit-and-retention.md): days a closed referral keeps its details,
    #: and how often the server purges (0 hours: never; run ``csomatch purge`` instead).
    retention_days: int = 90
    purge_interval_hours: float = 24.0
    #: Deployment (docs/operations.md): server processes of ``csomatch serve``; how long a
    #: request (or a new connection) may send nothing before it is complete, and how long
    #: reading one request may take at most, before it is dropped (slow clients hold a
    #: connection each); how many failed restarts of the embedded PostgreSQL in a row make
    #: ``/healthz`` answer 503.
    workers: int = 1
    read_timeout_s: float = 8.0
    read_deadline_s: float = 60.0
    embedded_restart_attempts: int = 5
    #: The address people reach this server at (docs/feedback.md): the feedback card's link
    #: and QR code point there. None: ``http://localhost:<port>``.
    public_url: str | None = None
    #: Feedback codes one token may issue per day (UTC).
    feedback_codes_per_day: int = 50
    #: A JSON file overriding the gap analysis's catchments per service code
    #: (docs/gaps.md, "Severity and catchments"); None: the table in gaps/catchments.py.
    catchments_file: Path | None = None
    #: A JSON file overriding the early warning's days per service code
    #: (docs/early-warnings.md); None: the defaults in gaps/early_warnings.py.
    early_warning_file: Path | None = None

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
            ("match_time_limit_s", float),
            ("match_other_language_km", float),
            ("match_interpreter_km", float),
            ("match_km_per_hour_of_age", float),
            ("match_general_service_km", float),
            ("match_no_free_place_km", float),
            ("match_acceptance_km", float),
            ("match_feedback_km", float),
            ("match_proximity_weight", float),
            ("hold_minutes_emergency", float),
            ("hold_minutes_urgent", float),
            ("hold_minutes_planned", float),
            ("confirm_hours", float),
            ("sweep_seconds", float),
            ("idempotency_hours", float),
            ("webhook_max_attempts", int),
            ("webhook_backoff_s", float),
            ("webhook_backoff_max_s", float),
            ("webhook_timeout_s", float),
            ("webhook_allow_http", boolean),
            ("webhook_allow_private", boolean),
            ("dispatch_interval_s", float),
            ("events_poll_s", float),
            ("retention_days", int),
            ("purge_interval_hours", float),
            ("audit_key_file", Path),
            ("audit_checkpoint_interval_s", float),
            ("token_cache_seconds", float),
            ("search_index", boolean),
            ("workers", int),
            ("read_timeout_s", float),
            ("read_deadline_s", float),
            ("embedded_restart_attempts", int),
            ("public_url", str),
            ("feedback_codes_per_day", int),
            ("catchments_file", Path),
            ("early_warning_file", Path),
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
        self._check_freshness_and_port()
        self._check_matcher()
        self._check_referrals()
        self._check_tokens_and_audit()
        self._check_pool()
        self._check_notifications()
        self._check_retention()
        self._check_deployment()
        self._check_feedback()
        self._check_gaps()

    def _check_freshness_and_port(self) -> None:
        """Check the freshness thresholds and the port."""
        if not 0 < self.fresh_hours < self.stale_hours:
            raise SettingsError(
                "CSOMATCH_FRESH_HOURS must be positive and below CSOMATCH_STALE_HOURS "
                f"(got {self.fresh_hours} and {self.stale_hours})"
            )
        if not 0 < self.port < 65536:
            raise SettingsError(f"CSOMATCH_PORT must be 1-65535 (got {self.port})")

    def _check_matcher(self) -> None:
        """Check the matcher's time limit and the weights of its soft terms."""
        if not 0 < self.match_time_limit_s <= 600:
            raise SettingsError(
                f"CSOMATCH_MATCH_TIME_LIMIT_S must be in (0, 600] (got {self.match_time_limit_s})"
            )
        for name in MATCH_WEIGHTS:
            value = getattr(self, name)
            if not 0 <= value <= 10_000:
                raise SettingsError(f"CSOMATCH_{name.upper()} must be in [0, 10000] (got {value})")

    def _check_referrals(self) -> None:
        """Check the offer hold times, the confirmation window, the sweeper and idempotency."""
        for name in ("hold_minutes_emergency", "hold_minutes_urgent", "hold_minutes_planned"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"CSOMATCH_{name.upper()} must be positive")
        if not 0 < self.confirm_hours <= 720:
            raise SettingsError(
                f"CSOMATCH_CONFIRM_HOURS must be in (0, 720] (got {self.confirm_hours})"
            )
        if self.sweep_seconds <= 0:
            raise SettingsError("CSOMATCH_SWEEP_SECONDS must be positive")
        if self.idempotency_hours < 24:
            raise SettingsError("CSOMATCH_IDEMPOTENCY_HOURS must be at least 24")

    def _check_tokens_and_audit(self) -> None:
        """Check the token cache and the audit checkpoint interval."""
        if not 0 <= self.token_cache_seconds <= 300:
            raise SettingsError(
                f"CSOMATCH_TOKEN_CACHE_SECONDS must be 0-300 (got {self.token_cache_seconds})"
            )
        if not 0 < self.audit_checkpoint_interval_s <= 3600:
            raise SettingsError(
                "CSOMATCH_AUDIT_CHECKPOINT_INTERVAL_S must be in (0, 3600] "
                f"(got {self.audit_checkpoint_interval_s})"
            )

    def _check_pool(self) -> None:
        """Check the connection pool's sizes."""
        if self.pool_min_size < 1 or self.pool_max_size < self.pool_min_size:
            raise SettingsError("CSOMATCH_POOL_MIN_SIZE must be >= 1 and <= CSOMATCH_POOL_MAX_SIZE")

    def _check_notifications(self) -> None:
        """Check webhook retries and timeouts, the dispatcher and the event streams."""
        if not 1 <= self.webhook_max_attempts <= 100:
            raise SettingsError("CSOMATCH_WEBHOOK_MAX_ATTEMPTS must be 1-100")
        if not 0 <= self.webhook_backoff_s <= self.webhook_backoff_max_s:
            raise SettingsError(
                "CSOMATCH_WEBHOOK_BACKOFF_S must be >= 0 and <= CSOMATCH_WEBHOOK_BACKOFF_MAX_S"
            )
        if self.webhook_timeout_s <= 0 or self.events_poll_s <= 0 or self.dispatch_interval_s < 0:
            raise SettingsError(
                "CSOMATCH_WEBHOOK_TIMEOUT_S and CSOMATCH_EVENTS_POLL_S must be positive, "
                "CSOMATCH_DISPATCH_INTERVAL_S >= 0 (0 turns the dispatcher off)"
            )

    def _check_retention(self) -> None:
        """Check the retention period and the purge interval."""
        if self.retention_days < 1 or self.purge_interval_hours < 0:
            raise SettingsError(
                "CSOMATCH_RETENTION_DAYS must be >= 1 and CSOMATCH_PURGE_INTERVAL_HOURS >= 0"
            )

    def _check_deployment(self) -> None:
        """Check the workers, the read timeouts and the embedded restart attempts."""
        if not 1 <= self.workers <= 64:
            raise SettingsError(f"CSOMATCH_WORKERS must be 1-64 (got {self.workers})")
        if not 0 < self.read_timeout_s <= self.read_deadline_s <= 3600:
            raise SettingsError(
                "CSOMATCH_READ_TIMEOUT_S must be positive and at most CSOMATCH_READ_DEADLINE_S "
                f"(at most 3600; got {self.read_timeout_s} and {self.read_deadline_s})"
            )
        if not 1 <= self.embedded_restart_attempts <= 1000:
            raise SettingsError(
                "CSOMATCH_EMBEDDED_RESTART_ATTEMPTS must be 1-1000 "
                f"(got {self.embedded_restart_attempts})"
            )

    def _check_feedback(self) -> None:
        """Check the public address and the daily number of feedback codes."""
        url = self.public_url
        if url is not None and not url.startswith(("http://", "https://")):
            raise SettingsError(
                f"CSOMATCH_PUBLIC_URL must start with http:// or https:// (got {url!r})"
            )
        if not 1 <= self.feedback_codes_per_day <= 10_000:
            raise SettingsError("CSOMATCH_FEEDBACK_CODES_PER_DAY must be 1-10000")

    def _check_gaps(self) -> None:
        """Check that a catchments file, when named, exists (gaps/catchments.py reads it)."""
        if self.catchments_file is not None and not self.catchments_file.is_file():
            raise SettingsError(
                f"CSOMATCH_CATCHMENTS_FILE names no file (got {str(self.catchments_file)!r})"
            )
        if self.early_warning_file is not None and not self.early_warning_file.is_file():
            raise SettingsError(
                f"CSOMATCH_EARLY_WARNING_FILE names no file (got {str(self.early_warning_file)!r})"
            )

    def public_base(self) -> str:
        """The public address without a trailing slash (default: ``http://localhost:<port>``)."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")
