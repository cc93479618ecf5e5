"""Webhooks reach only the public internet: every way of writing a private address is
refused at registration (422 naming ``$.url``), names are resolved and checked at
registration and at every delivery, and a delivery connects to the address that was
checked, however DNS answers the next time (DNS rebinding)."""

from __future__ import annotations

import datetime as dt
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trustme
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db.pool import Pool, create_pool
from csomatch.notifications.dispatch import RetryPolicy, dispatch_once
from csomatch.settings import Settings
from tests.api.conftest import make_token
from tests.api.fake_dns import FakeDNS
from tests.api.test_registry_api import Client
from tests.api.test_webhooks import _emit
from tests.api.webhook_receiver import receiver

PUBLIC = "93.184.215.14"  # a public address; nothing is sent to it (fakes answer instead)

DNS = FakeDNS(
    {
        "hooks.example.org": [[PUBLIC]],
        "loopback.example.org": [["127.0.0.1"]],
        "private.example.org": [["10.1.2.3"]],
        "v6-loopback.example.org": [["::1"]],
        "mixed.example.org": [[PUBLIC, "192.168.0.10"]],
        "nat64.example.org": [["64:ff9b::a9fe:a9fe"]],
        "metadata-alias.example.org": [["169.254.169.254"]],
        "127.0.0.1.nip.io": [["127.0.0.1"]],
        "dual.example.org": [["2001:4860:4860::8888", PUBLIC]],
    }
)

#: Hostile URLs: every way of writing this machine, a private network or a metadata service.
HOSTILE = [
    # IPv4 loopback in every form a C library accepts
    "https://127.0.0.1/hook",
    "https://127.0.0.1./hook",
    "https://127.1/hook",
    "https://127.0.1/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0x7f.0x0.0x0.0x1/hook",
    "https://0177.0.0.1/hook",
    "https://017700000001/hook",
    "https://0/hook",
    "https://0.0.0.0/hook",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
    "https://api.localhost/hook",
    # private, shared, link-local (cloud metadata), special-purpose IPv4
    "https://10.0.0.1/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://2852039166/latest/meta-data/",
    "https://100.64.0.1/hook",
    "https://198.18.0.1/hook",
    "https://192.0.2.1/hook",
    "https://198.51.100.7/hook",
    "https://203.0.113.9/hook",
    "https://192.0.0.8/hook",
    "https://224.0.0.1/hook",
    "https://239.255.255.250/hook",
    "https://240.0.0.1/hook",
    "https://255.255.255.255/hook",
    # IPv6, and IPv6 that embeds a private IPv4 address
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:7f00:1]/hook",
    "https://[0:0:0:0:0:ffff:169.254.169.254]/hook",
    "https://[::7f00:1]/hook",
    "https://[::127.0.0.1]/hook",
    "https://[64:ff9b::7f00:1]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",
    "https://[64:ff9b:1:7f00:0:100::]/hook",
    "https://[2002:7f00:1::]/hook",
    "https://[2002:a9fe:a9fe::1]/hook",
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
    "https://[fe80::1]/hook",
    "https://[fe80::1%25eth0]/hook",
    "https://[fc00::1]/hook",
    "https://[fd12:3456::1]/hook",
    "https://[fec0::1]/hook",
    "https://[ff02::1]/hook",
    "https://[2001:db8::1]/hook",
    "https://[100::1]/hook",
    # metadata and local-network names
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://metadata/computeMetadata/v1/",
    "https://instance-data/latest/",
    "https://instance-data.ec2.internal/latest/",
    "https://metadata.goog/computeMetadata/v1/",
    "https://printer.local/hook",
    "https://router.home.arpa/hook",
    "https://intranet/hook",
    "https://1.0.0.127.in-addr.arpa/hook",
    # names that resolve to such addresses
    "https://loopback.example.org/hook",
    "https://private.example.org/hook",
    "https://v6-loopback.example.org/hook",
    "https://mixed.example.org/hook",
    "https://nat64.example.org/hook",
    "https://metadata-alias.example.org/hook",
    "https://127.0.0.1.nip.io/hook",
]

ACCEPTED = [
    "https://hooks.example.org/csomatch?token=x",
    "https://dual.example.org:8443/hook",
    "https://8.8.8.8/hook",
    "https://[2001:4860:4860::8888]/hook",
    "https://[64:ff9b::808:808]/hook",  # NAT64 of a public address
    "https://not-yet-live.example.org/hook",  # does not resolve yet: checked at delivery
]


@pytest.fixture
async def strict(demo_db: str) -> AsyncIterator[Client]:
    """The app as deployed (https only, public internet only), with the fake DNS."""
    settings = Settings(database_url=demo_db, pool_min_size=1, pool_max_size=4,
                        dispatch_interval_s=0)  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db, resolver=DNS)) as client:
        yield client


async def test_every_hostile_url_is_refused_naming_the_field(strict: Client, demo_db: str) -> None:
    assert len(HOSTILE) >= 38
    coord = await make_token(demo_db, "coordinator")
    for url in HOSTILE:
        response = await strict.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=coord
        )
        assert response.status_code == 422, (url, response.text)
        problem = response.json()
        assert problem["field"] == "$.url", (url, problem)
        detail: str = problem["detail"]
        assert detail.startswith("url "), (url, detail)
        assert "not on the public internet" in detail or "not a valid" in detail, (url, detail)
    assert (await strict.get("/api/v1/webhooks", headers=coord)).json() == []


async def test_the_refusal_says_what_the_host_is(strict: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator")

    async def detail(url: str) -> str:
        response = await strict.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=coord
        )
        text: str = response.json()["detail"]
        return text

    assert (await detail("https://2130706433/x")).startswith(
        "url host 127.0.0.1 (written 2130706433) is a loopback address (this machine), not on"
        " the public internet; webhooks go to public https endpoints"
    )
    assert "reaches 127.0.0.1 (6to4)" in await detail("https://[2002:7f00:1::]/x")
    assert "reaches 169.254.169.254 (NAT64), a link-local address, where cloud metadata" in (
        await detail("https://[64:ff9b::a9fe:a9fe]/x")
    )
    assert "mixed.example.org resolves to 192.168.0.10, a private address" in (
        await detail("https://mixed.example.org/x")
    )
    assert "metadata.google.internal is a cloud metadata or local-network name" in (
        await detail("https://metadata.google.internal/x")
    )


async def test_public_urls_are_accepted(strict: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator")
    for url in ACCEPTED:
        response = await strict.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=coord
        )
        assert response.status_code == 201, (url, response.text)
        assert response.json()["url"] == url
    assert len((await strict.get("/api/v1/webhooks", headers=coord)).json()) == len(ACCEPTED)


# Delivery: URLs registered while the server allowed them, delivered by a strict dispatcher.

LENIENT = RetryPolicy(max_attempts=3, backoff_s=10, backoff_max_s=15, timeout_s=5,
                      allow_private=True)  # fmt: skip
STRICT = RetryPolicy(max_attempts=3, backoff_s=10, backoff_max_s=15, timeout_s=5)


@pytest.fixture
async def lenient(demo_db: str) -> AsyncIterator[Client]:
    """The app of a private deployment (http and private addresses allowed)."""
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=4, dispatch_interval_s=0,
        webhook_allow_http=True, webhook_allow_private=True,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db, resolver=DNS)) as client:
        yield client


@pytest.fixture
async def pool(demo_db: str) -> AsyncIterator[Pool]:
    p = await create_pool(demo_db, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


async def _register(api: Client, headers: dict[str, str], url: str) -> str:
    response = await api.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=headers
    )
    assert response.status_code == 201, response.text
    sub_id: str = response.json()["id"]
    return sub_id


async def _attempts(api: Client, headers: dict[str, str], sub_id: str) -> list[dict[str, Any]]:
    deliveries = (await api.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=headers)).json()
    return [a for d in deliveries for a in d["attempt_log"]]


async def test_ipv6_embeddings_of_private_addresses_are_never_called(
    lenient: Client, demo_db: str, pool: Pool
) -> None:
    coord = await make_token(demo_db, "coordinator")
    with receiver() as recv:
        port = recv.base_url.rsplit(":", 1)[1]
        subs = {
            url: await _register(lenient, coord, url)
            for url in (
                f"http://[::7f00:1]:{port}/compat",
                f"http://[64:ff9b::7f00:1]:{port}/nat64",
                f"http://[2002:7f00:1::]:{port}/6to4",
                f"http://[::ffff:127.0.0.1]:{port}/mapped",
                f"http://2130706433:{port}/decimal",
                f"http://loopback.example.org:{port}/name",
            )
        }
        await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
        async with httpx.AsyncClient() as http:
            report = await dispatch_once(pool, http, STRICT, now=dt.datetime.now(dt.UTC),
                                         resolver=DNS)  # fmt: skip
        assert report.retrying == len(subs)
        assert recv.received == []
    for url, sub_id in subs.items():
        [attempt] = await _attempts(lenient, coord, sub_id)
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("refused: "), (url, attempt)
        assert "127.0.0.1" in attempt["error"], (url, attempt)


async def test_a_delivery_connects_to_the_address_it_checked(
    lenient: Client, demo_db: str, pool: Pool
) -> None:
    # DNS rebinding: the name answers 127.0.0.1 first, then 127.0.0.2. The receiver on
    # 127.0.0.1 must get the event; one on 127.0.0.2 (same port) must not; the name is
    # looked up once.
    coord = await make_token(demo_db, "coordinator")
    with receiver() as checked:
        port = int(checked.base_url.rsplit(":", 1)[1])
        with receiver(host="127.0.0.2", port=port) as rebound:
            dns = FakeDNS({"rebind.example.org": [["127.0.0.1"], ["127.0.0.2"]]})
            url = f"http://rebind.example.org:{port}/hook"
            response = await lenient.post(
                "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=coord
            )
            assert response.status_code == 201, response.text
            checked.secrets["/hook"] = response.json()["secret"]
            await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
            async with httpx.AsyncClient() as http:
                report = await dispatch_once(pool, http, LENIENT, now=dt.datetime.now(dt.UTC),
                                             resolver=dns)  # fmt: skip
            assert report.delivered == 1
            assert dns.asked == ["rebind.example.org"]
            assert [ip.exploded for ip in await dns.resolve("rebind.example.org", port)] == [
                "127.0.0.2"
            ]  # what a second lookup would have said
        [got] = checked.received
        assert got.signature_ok
        assert got.headers["Host"] == f"rebind.example.org:{port}"
        assert rebound.received == []


async def test_https_goes_to_the_checked_address_with_the_name_for_host_and_tls(
    demo_db: str, pool: Pool, strict: Client
) -> None:
    # A strict server: the name first answers a public address, then loopback. The request
    # leaves for the public address, named as the host (Host header, TLS server name).
    coord = await make_token(demo_db, "coordinator")
    dns = FakeDNS({"hooks.example.org": [[PUBLIC], ["127.0.0.1"]]})
    sent: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:  # the internet, faked
        sent.append(request)
        return httpx.Response(204)

    await _register(strict, coord, "https://hooks.example.org/csomatch?x=1")
    dns.asked.clear()
    await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
    async with httpx.AsyncClient(transport=httpx.MockTransport(network)) as http:
        report = await dispatch_once(pool, http, STRICT, now=dt.datetime.now(dt.UTC),
                                     resolver=dns)  # fmt: skip
    assert report.delivered == 1
    [request] = sent
    assert str(request.url) == f"https://{PUBLIC}/csomatch?x=1"
    assert request.headers["Host"] == "hooks.example.org"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert dns.asked == ["hooks.example.org"]


async def test_a_name_that_now_resolves_to_a_private_address_is_not_called(
    strict: Client, demo_db: str, pool: Pool
) -> None:
    coord = await make_token(demo_db, "coordinator")
    dns = FakeDNS({"turned.example.org": [[PUBLIC], ["10.9.8.7"]]})
    sent: list[httpx.Request] = []
    settings = Settings(database_url=demo_db, pool_min_size=1, pool_max_size=4,
                        dispatch_interval_s=0)  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db, resolver=dns)) as api:
        sub_id = await _register(api, coord, f"https://turned.example.org/{uuid.uuid4()}")
        await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
        async with httpx.AsyncClient(transport=httpx.MockTransport(sent.append)) as http:  # type: ignore[arg-type]
            report = await dispatch_once(pool, http, STRICT, now=dt.datetime.now(dt.UTC),
                                         resolver=dns)  # fmt: skip
        assert (report.retrying, sent) == (1, [])
        [attempt] = await _attempts(api, coord, sub_id)
    assert attempt["error"] == (
        "refused: turned.example.org resolves to 10.9.8.7, a private address"
    )


async def test_https_reaches_the_checked_address_and_checks_the_certificate_of_the_name(
    lenient: Client, demo_db: str, pool: Pool
) -> None:
    # A real TLS receiver with a certificate for the name only: connecting by address works
    # because the TLS server name (SNI) and the certificate check still use the name.
    ca = trustme.CA()
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    coord = await make_token(demo_db, "coordinator")
    dns = FakeDNS({"hooks.example.org": [["127.0.0.1"]], "other.example.org": [["127.0.0.1"]]})
    for name, delivered in (("hooks.example.org", 1), ("other.example.org", 0)):
        serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("hooks.example.org").configure_cert(serving)
        with receiver(tls=serving) as recv:
            port = recv.base_url.rsplit(":", 1)[1]
            sub_id = await _register(lenient, coord, f"https://{name}:{port}/tls")
            await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
            async with httpx.AsyncClient(verify=trusting) as http:
                report = await dispatch_once(pool, http, LENIENT, now=dt.datetime.now(dt.UTC),
                                             resolver=dns)  # fmt: skip
            await lenient.delete(f"/api/v1/webhooks/{sub_id}", headers=coord)
        assert report.delivered == delivered, name
        assert len(recv.received) == delivered, name
        if delivered:
            assert recv.received[0].headers["Host"] == f"hooks.example.org:{port}"
        else:
            [attempt] = await _attempts(lenient, coord, sub_id)
            assert "CERTIFICATE_VERIFY_FAILED" in attempt["error"], attempt
