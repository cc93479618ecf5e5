"""What the agencies API takes and answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from csomatch.api.schemas.registry import In, Name, Out
from csomatch.domain import ParticipantCode

#: A phone number as typed (checked and normalised to E.164 by the use case).
PhoneText = Annotated[str, Meta(min_length=3, max_length=40)]


class AgencyIn(In, frozen=True):
    """A new agency: its name, jurisdiction and duty phone (international form)."""

    jurisdiction: ParticipantCode
    name: Name
    duty_phone: PhoneText
    #: The guardianship authority (usually the centre for social work): its officers may
    #: sign off a child's placement.
    guardianship_authority: bool = False


class AgencyPatch(In, frozen=True):
    """Changes to an agency; absent fields stay as they are."""

    name: Name | UnsetType = UNSET
    duty_phone: PhoneText | UnsetType = UNSET
    guardianship_authority: bool | UnsetType = UNSET


class AgencyOut(Out, frozen=True):
    """An agency: name, jurisdiction, duty phone (E.164), and the guardianship mark."""

    id: uuid.UUID
    jurisdiction: str
    name: str
    duty_phone: str
    guardianship_authority: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AgencyList(Out, frozen=True):
    """A page of agencies."""

    agencies: list[AgencyOut]
