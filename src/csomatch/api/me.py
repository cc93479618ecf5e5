"""Who the caller is: what the web pages need to draw themselves (with ``/api/v1/taxonomy``)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import get

from csomatch.api.auth import ALL_ROLES, roles
from csomatch.api.deps import Caller
from csomatch.api.schemas.registry import Out


class MeOut(Out, frozen=True):
    """The caller's role and scope; never the token, its hash or its label."""

    role: str
    jurisdiction: str
    organization_id: uuid.UUID | None
    agency: str | None
    agency_id: uuid.UUID | None


@get("/api/v1/me", opt=roles(*ALL_ROLES), sync_to_thread=False)
def me(principal: Caller) -> MeOut:
    """The role, jurisdiction, organisation and agency of the token in use."""
    return msgspec.convert(principal, MeOut, from_attributes=True)


ME_ROUTES = [me]
