"""The one jurisdiction rule: which participant's services serve a need of a referral.

Every entry point asks it: the matcher's hard rule (`matching.rules.within_jurisdiction`,
so suggestions, batch and plans), holds (which run the matcher's rules), the need signals of
a submitted referral and the what-if. It lives below them all, next to the vocabulary.
"""

from __future__ import annotations

from typing import Final

#: Codes of return and reintegration: the needs a transnational referral sends abroad.
RETURN_PREFIXES: Final = ("RET.", "REINT.")


def is_return(code: str) -> bool:
    """Return and reintegration codes (RET.*, REINT.*)."""
    return code.startswith(RETURN_PREFIXES)


def serving_participant(code: str, jurisdiction: str, receiving: str | None) -> str:
    """The participant whose services serve a need of ``code``.

    Every need is served in the referral's own jurisdiction, except the return and
    reintegration needs of a transnational referral (``receiving`` differs from
    ``jurisdiction``), which go to the receiving participant.
    """
    if receiving is not None and receiving != jurisdiction and is_return(code):
        return receiving
    return jurisdiction


def may_serve(
    code: str, jurisdiction: str, receiving: str | None, participant: str, *, cross_border: bool
) -> bool:
    """The one jurisdiction rule: may a service in ``participant`` serve a need of ``code``?

    Every entry point asks this (suggestions, batch, holds, plans, what-if): the service must
    be in `serving_participant`; a service that serves a need over the border (a transnational
    referral's return or reintegration) must also support cross-border (TRM) cases.
    """
    where = serving_participant(code, jurisdiction, receiving)
    return participant == where and (where == jurisdiction or cross_border)
