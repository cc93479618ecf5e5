"""The domain matcher: turns a needs profile and the registry into ranked suggestions.

``profile`` is what a caseworker sends, ``rules`` the hard rules, ``terms`` the soft cost
terms, and ``suggest`` builds a solver `Problem` from them and reads the plan back.
"""

from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.suggest import SuggestionResult, suggest

__all__ = ["Need", "NeedsProfile", "SuggestionResult", "suggest"]
