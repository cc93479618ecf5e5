"""Static checks on compose.yaml (docs/scaling.md): docker is not available here, so the
file is parsed and its services, images, healthchecks and environment are checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from csomatch.settings import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"
#: The apps' database: user and database named, the password from the environment, host db.
URL = r"postgresql://(\w+):\$\{CSOMATCH_DB_PASSWORD:\?[^}]+\}@db:5432/(\w+)"
#: Inside a container the app listens on every interface (the load balancer reaches it).
EVERY_INTERFACE = ".".join(["0"] * 4)


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _apps(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("build") == "."}


def test_postgresql_two_app_processes_and_a_load_balancer() -> None:
    services = _compose()["services"]
    apps = _apps(services)
    assert len(apps) >= 2
    db = services["db"]
    assert re.fullmatch(r"postgres:1[5-9][.0-9]*-\w+", db["image"]), db["image"]
    upstream = _compose()["configs"]["lb"]["content"]
    for name in apps:
        assert f"server {name}:8000" in upstream
    assert set(services["lb"]["depends_on"]) == set(apps)
    for name, s in services.items():
        image = s.get("image", "")
        assert not image.endswith(":latest"), name
        assert ":" in image, f"{name}: pin the image's tag"


def test_every_service_has_a_healthcheck_and_apps_wait_for_a_healthy_database() -> None:
    services = _compose()["services"]
    for name, s in services.items():
        test = s["healthcheck"]["test"]
        assert test[0] == "CMD", name
    for name, s in _apps(services).items():
        assert s["depends_on"]["db"]["condition"] == "service_healthy", name
        assert "/healthz" in " ".join(s["healthcheck"]["test"]), name
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    assert "/readyz" in " ".join(services["lb"]["healthcheck"]["test"])


def test_apps_share_the_database_and_audit_key_and_keep_their_own_home(tmp_path: Path) -> None:
    compose = _compose()
    services = compose["services"]
    db_env = services["db"]["environment"]
    apps = _apps(services)
    urls, keys, homes = set(), set(), []
    for name, s in apps.items():
        env = s["environment"]
        url = env["CSOMATCH_DATABASE_URL"]
        m = re.fullmatch(
            r"postgresql://(\w+):\$\{CSOMATCH_DB_PASSWORD:\?[^}]+\}@db:5432/(\w+)", url
        )
        assert m, f"{name}: the password comes from the environment, the host is db"
        assert (m.group(1), m.group(2)) == (db_env["POSTGRES_USER"], db_env["POSTGRES_DB"])
        assert env["CSOMATCH_HOST"] == EVERY_INTERFACE
        urls.add(url)
        keys.add(env["CSOMATCH_AUDIT_KEY_FILE"])
        mounts = s["volumes"]
        assert any(v.endswith(f":{env['CSOMATCH_AUDIT_KEY_FILE']}:ro") for v in mounts), name
        homes += [v for v in mounts if v.endswith(":/home/csomatch/.csomatch")]
        # every CSOMATCH_ variable is a setting the app knows, with a valid value
        settings = {k: str(v) for k, v in env.items() if k != "CSOMATCH_DATABASE_URL"}
        Settings.from_env(settings | {"CSOMATCH_AUDIT_KEY_FILE": str(tmp_path / "key")})
        known = {f"CSOMATCH_{f.upper()}" for f in Settings.__struct_fields__}
        assert set(env) <= known, name
    assert len(urls) == 1
    assert len(keys) == 1
    assert len(set(homes)) == len(apps), "each app process needs a home of its own"
    assert "POSTGRES_PASSWORD" in db_env
    assert "${CSOMATCH_DB_PASSWORD" in db_env["POSTGRES_PASSWORD"]
    for volume in homes:
        assert volume.split(":")[0] in compose["volumes"]
