"""Webhook signatures and the retry schedule, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from csomatch.notifications.dispatch import RetryPolicy
from csomatch.notifications.signing import new_secret, sign, verify
from csomatch.settings import Settings, SettingsError

BODY = b'{"event":{"id":1}}'


def test_a_signature_verifies_only_for_its_secret_body_and_time() -> None:
    secret = new_secret()
    header = sign(secret, 1_800_000_000, BODY)
    assert header.startswith("t=1800000000,v1=")
    assert verify(secret, header, BODY, now=1_800_000_100)
    assert not verify(new_secret(), header, BODY, now=1_800_000_100)
    assert not verify(secret, header, BODY + b" ", now=1_800_000_100)
    assert not verify(secret, header, BODY, now=1_800_000_301)  # a replay, too late
    assert not verify(secret, "v1=" + header.split("v1=")[1], BODY, now=1_800_000_000)


def test_secrets_are_fresh_and_long() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert min(len(s) for s in secrets) >= 40


def test_retries_wait_twice_as_long_each_time_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_s=30, backoff_max_s=600)
    waits = [policy.delay_after(n) for n in range(1, 8)]
    assert waits == [dt.timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 600, 600)]


def test_retry_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CSOMATCH_WEBHOOK_MAX_ATTEMPTS": "5",
            "CSOMATCH_WEBHOOK_BACKOFF_S": "2",
            "CSOMATCH_WEBHOOK_ALLOW_HTTP": "true",
            "CSOMATCH_DISPATCH_INTERVAL_S": "0",
        }
    )
    policy = RetryPolicy.from_settings(settings)
    assert (policy.max_attempts, policy.backoff_s) == (5, 2.0)
    assert settings.webhook_allow_http is True
    assert settings.dispatch_interval_s == 0
    with pytest.raises(SettingsError, match="CSOMATCH_WEBHOOK_ALLOW_HTTP"):
        Settings.from_env({"CSOMATCH_WEBHOOK_ALLOW_HTTP": "perhaps"})
    with pytest.raises(SettingsError, match="CSOMATCH_WEBHOOK_MAX_ATTEMPTS"):
        Settings.from_env({"CSOMATCH_WEBHOOK_MAX_ATTEMPTS": "0"})
