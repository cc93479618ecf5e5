"""Matching a feed's recipient to a registry organisation: identifier first, then name.

Order: an explicit csomatch organisation id; a person's earlier decision (confirmed or
rejected) for the same identifier or name; an identifier equal to a registration number
(or ending in ``-`` + it, as IATI organisation refs do); then the name, normalised
(accents, case, punctuation and Serbian/Macedonian Cyrillic folded) and compared with
rapidfuzz's token-sort ratio. A name match applies only at ``AUTO_MATCH`` or above and when
no other organisation scores as high; anything lower is not applied but listed for review
with its best candidate (from ``REVIEW_FLOOR`` up).
"""

from __future__ import annotations

import functools
import re
import unicodedata
import uuid
from collections import defaultdict

import msgspec
from rapidfuzz import fuzz, process

from csomatch.db.funding import MatchDecision, RegistryOrg

#: Name similarity (0-100) from which a match is applied without review.
AUTO_MATCH = 95
#: Below this a candidate is not even proposed.
REVIEW_FLOOR = 60

_CYRILLIC = dict(
    zip(
        "абвгдђежзијклљмнњопрстћуфхцчџшѓѕќ",
        [
            "a", "b", "v", "g", "d", "dj", "e", "z", "z", "i", "j", "k", "l", "lj", "m", "n",
            "nj", "o", "p", "r", "s", "t", "c", "u", "f", "h", "c", "c", "dz", "s", "g", "dz",
            "k",
        ],
        strict=True,
    )
)  # fmt: skip
_FOLD = {"đ": "dj", "ð": "d", "æ": "ae", "ø": "o", "ß": "ss", "ı": "i", "ł": "l", "œ": "oe"}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=65_536)
def normalise_name(name: str) -> str:
    """Lower-case ASCII words: accents dropped, Cyrillic transliterated, punctuation gone."""
    text = name.casefold()
    text = "".join(_CYRILLIC.get(ch, _FOLD.get(ch, ch)) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def normalise_identifier(identifier: str) -> str:
    """Upper case without spaces: ``rs-mbs 123`` and ``RS-MBS123`` are the same."""
    return re.sub(r"\s+", "", identifier).upper()


def match_key(identifier: str | None, name: str) -> str:
    """The key a review and its decision are stored under: the identifier, else the name."""
    if identifier and normalise_identifier(identifier):
        return "id:" + normalise_identifier(identifier)[:390]
    return "name:" + normalise_name(name)[:390]


class Match(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of matching one recipient."""

    organization_id: uuid.UUID | None
    #: How it matched: id, identifier, name, confirmed; None when it did not.
    method: str | None
    score: int | None
    key: str
    candidate_id: uuid.UUID | None = None
    candidate_name: str | None = None
    rejected: bool = False


class OrgIndex:
    """The registry's organisations, indexed for matching one feed's recipients."""

    def __init__(self, orgs: list[RegistryOrg], decisions: list[MatchDecision]) -> None:
        self._by_id = {o.id: o for o in orgs}
        self._by_reg: dict[str, list[RegistryOrg]] = defaultdict(list)
        for org in orgs:
            if org.registration_number:
                self._by_reg[normalise_identifier(org.registration_number)].append(org)
        self._names = [normalise_name(o.name) for o in orgs]
        self._orgs = orgs
        self._by_participant: dict[str, list[int]] = defaultdict(list)
        for i, org in enumerate(orgs):
            self._by_participant[org.participant_code].append(i)
        self._decisions = {d.match_key: d for d in decisions}
        self._cache: dict[tuple[object, ...], Match] = {}

    def name_of(self, org_id: uuid.UUID) -> str | None:
        """The registry name of an organisation."""
        org = self._by_id.get(org_id)
        return None if org is None else org.name

    def participant_of(self, org_id: uuid.UUID) -> str | None:
        """The participant of an organisation."""
        org = self._by_id.get(org_id)
        return None if org is None else org.participant_code

    def match(
        self,
        *,
        org_id: uuid.UUID | None,
        identifier: str | None,
        name: str,
        participant: str | None,
    ) -> Match:
        """Match one recipient (results are cached: a feed names few recipients many times)."""
        cache_key = (org_id, identifier, name, participant)
        found = self._cache.get(cache_key)
        if found is None:
            found = self._match(org_id, identifier, name, participant)
            self._cache[cache_key] = found
        return found

    def _match(
        self,
        org_id: uuid.UUID | None,
        identifier: str | None,
        name: str,
        participant: str | None,
    ) -> Match:
        key = match_key(identifier, name)
        if org_id is not None and org_id in self._by_id:
            return Match(organization_id=org_id, method="id", score=100, key=key)
        for decision_key in (key, match_key(None, name)):
            decision = self._decisions.get(decision_key)
            if decision is not None and decision.status == "confirmed":
                return Match(
                    organization_id=decision.organization_id,
                    method="confirmed",
                    score=100,
                    key=key,
                )
        if self._decisions.get(key) is not None:
            return Match(organization_id=None, method=None, score=None, key=key, rejected=True)
        if identifier:
            by_identifier = self._by_identifier(identifier, participant)
            if by_identifier is not None:
                return Match(organization_id=by_identifier, method="identifier", score=100, key=key)
        return self._by_name(name, participant, key)

    def _by_identifier(self, identifier: str, participant: str | None) -> uuid.UUID | None:
        norm = normalise_identifier(identifier)
        try:
            as_uuid = uuid.UUID(identifier.strip())
        except ValueError:
            as_uuid = None
        if as_uuid is not None and as_uuid in self._by_id:
            return as_uuid
        found = list(self._by_reg.get(norm, []))
        if not found:
            found = [
                org
                for reg, orgs in self._by_reg.items()
                if norm.endswith("-" + reg)
                for org in orgs
            ]
        if participant:
            found = [o for o in found if o.participant_code == participant] or found
        ids = {o.id for o in found}
        return ids.pop() if len(ids) == 1 else None

    def _by_name(self, name: str, participant: str | None, key: str) -> Match:
        query = normalise_name(name)
        indices = self._by_participant.get(participant or "", []) or range(len(self._orgs))
        choices = {i: self._names[i] for i in indices}
        if not query or not choices:
            return Match(organization_id=None, method=None, score=None, key=key)
        best = process.extract(query, choices, scorer=fuzz.token_sort_ratio, limit=3)
        top_index = best[0][2]
        top_score = round(best[0][1])
        top = self._orgs[top_index]
        rivals = {self._orgs[i].id for _, s, i in best[1:] if round(s) >= top_score}
        if top_score >= AUTO_MATCH and not (rivals - {top.id}):
            return Match(organization_id=top.id, method="name", score=top_score, key=key)
        if top_score < REVIEW_FLOOR:
            return Match(organization_id=None, method=None, score=top_score, key=key)
        return Match(
            organization_id=None,
            method=None,
            score=top_score,
            key=key,
            candidate_id=top.id,
            candidate_name=top.name,
        )
