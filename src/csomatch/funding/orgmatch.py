"""Matching a feed's recipient to a registry organisation: identifier first, then name.

Order: an explicit csomatch organisation id; a person's earlier decision (confirmed or
rejected) for the same identifier or name; an identifier equal to a registration number
(or ending in ``-`` + it, as IATI organisation refs do); then the name, normalised
(accents, case, punctuation and Serbian/Macedonian Cyrillic folded) and compared with
rapidfuzz's token-sort ratio against every name of an organisation, its names in other
languages and scripts too (an organisation scores its best name). A name that differs from
the recipient's only by naming another town (``... Novi Sad`` for ``... Ниш``) is no
candidate at all. A name match applies only at ``AUTO_MATCH`` or above and when no other
organisation scores as high; anything lower is not applied but listed for review with its
best candidate (from ``REVIEW_FLOOR`` up).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Mapping

import msgspec
from rapidfuzz import fuzz, process

from csomatch.db.funding import MatchDecision, RegistryOrg
from csomatch.registry.placenames import name_key

#: Name similarity (0-100) from which a match is applied without review.
AUTO_MATCH = 95
#: Below this a candidate is not even proposed.
REVIEW_FLOOR = 60

#: How many of the best names rapidfuzz returns before names of other towns are dropped.
_CANDIDATE_NAMES = 25


def normalise_name(name: str) -> str:
    """Lower-case ASCII words: accents dropped, Cyrillic transliterated, punctuation gone."""
    return name_key(name)


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

    def __init__(
        self,
        orgs: list[RegistryOrg],
        decisions: list[MatchDecision],
        towns: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """Index ``orgs``; ``towns`` maps a place name's key to the towns it names."""
        self._by_id = {o.id: o for o in orgs}
        self._by_reg: dict[str, list[RegistryOrg]] = defaultdict(list)
        for org in orgs:
            if org.registration_number:
                self._by_reg[normalise_identifier(org.registration_number)].append(org)
        # Every name of every organisation, each with the index of its organisation.
        self._names: list[str] = []
        self._owner: list[int] = []
        self._slots: list[list[int]] = []
        for i, org in enumerate(orgs):
            keys = dict.fromkeys(normalise_name(n) for n in (org.name, *org.other_names))
            self._slots.append([])
            for key in keys:
                self._slots[i].append(len(self._names))
                self._names.append(key)
                self._owner.append(i)
        self._towns = towns or {}
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
        choices = {j: self._names[j] for i in indices for j in self._slots[i]}
        if not query or not choices:
            return Match(organization_id=None, method=None, score=None, key=key)
        best: dict[int, int] = {}  # organisation index -> its best name's score
        for _, score, j in process.extract(
            query, choices, scorer=fuzz.token_sort_ratio, limit=_CANDIDATE_NAMES
        ):
            owner = self._owner[j]
            if not any(self._other_town(query, self._names[k]) for k in self._slots[owner]):
                best[owner] = max(best.get(owner, 0), round(score))
        if not best:
            return Match(organization_id=None, method=None, score=None, key=key)
        (top_index, top_score), *others = sorted(best.items(), key=lambda item: -item[1])
        top = self._orgs[top_index]
        rivals = any(score >= top_score for _, score in others)
        if top_score >= AUTO_MATCH and not rivals:
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

    def _other_town(self, query: str, candidate: str) -> bool:
        """Whether ``candidate`` names another town than ``query`` does (and not its town).

        Either both end in a town's name (``... rad nis``, ``... work novi sad``), or the
        words of each that the other lacks are a town's name (``nis``; ``novi sad``); an
        organisation with such a name is in another town.
        """
        query_words, candidate_words = query.split(), candidate.split()
        pairs = [
            (self._ending_town(query_words), self._ending_town(candidate_words)),
            (
                self._towns.get(" ".join(w for w in query_words if w not in candidate_words)),
                self._towns.get(" ".join(w for w in candidate_words if w not in query_words)),
            ),
        ]
        return any(a is not None and b is not None and not a & b for a, b in pairs)

    def _ending_town(self, words: list[str]) -> frozenset[str] | None:
        """The towns named by the last one to three words (the most words that name one)."""
        for n in (3, 2, 1):
            if len(words) > n:
                towns = self._towns.get(" ".join(words[-n:]))
                if towns:
                    return towns
        return None
