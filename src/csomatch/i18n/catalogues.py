"""Manage the gettext catalogues: extract, update, cyrillic, compile, check.

Run from a checkout: ``python -m csomatch.i18n.catalogues COMMAND [--domain messages|web]``.

A translator's round: ``extract`` (the source's messages into ``locale/<domain>.pot``),
``update`` (the template into each locale's ``.po``, translations kept; the Serbian Cyrillic
catalogue is then generated again from the Latin one), edit the ``.po`` files, ``check``,
``compile``. The ``messages`` domain is what the Python code says (``_()``, ``N_()``,
``ngettext()``, ``pgettext()`` in ``src/csomatch/**/*.py``, and the taxonomy's names in
``seed_data/taxonomy.json``); the ``web`` domain is what the pages say (``t()`` in
``web/static/*.js`` and the page templates).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from csomatch.i18n import DEFAULT_LOCALE, DOMAINS, LOCALE_DIR, LOCALES, catalogue_path
from csomatch.i18n.templates import TITLE_KEYWORDS, extract_markers
from csomatch.i18n.transliteration import to_cyrillic

PACKAGE_DIR = LOCALE_DIR.parent
#: The checkout's root (locations in the catalogues are relative to it).
ROOT = PACKAGE_DIR.parent.parent
STATIC_DIR = PACKAGE_DIR / "web" / "static"
TEMPLATE_DIR = PACKAGE_DIR / "web" / "templates"
TAXONOMY = ROOT / "seed_data" / "taxonomy.json"

#: Locales whose catalogue is written by hand (the others are generated from one of these).
TRANSLATED: tuple[str, ...] = tuple(
    locale for locale in LOCALES if locale not in (DEFAULT_LOCALE, "sr-Cyrl")
)
#: Generated catalogues: the locale written from another by transliteration.
GENERATED: dict[str, str] = {"sr-Cyrl": "sr-Latn"}
#: The mark a translation keeps until a native speaker has confirmed it (docs/glossary.md).
UNREVIEWED = "unreviewed"

PYTHON_KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
JS_KEYWORDS = {"t": None}

#: ``{name}`` and ``%(name)s``: the only placeholders a message may have.
NAMED_PLACEHOLDER = re.compile(r"\{(\w+)\}|%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]")
POSITIONAL_PLACEHOLDER = re.compile(r"\{\d*\}|(?<![%\w])%[sdifr](?![a-z])")


@dataclass(frozen=True, slots=True)
class Extracted:
    """One message found in the source: its text, where, and a note for the translator."""

    msgid: str | tuple[str, str]
    path: str
    lineno: int
    context: str | None = None
    comment: str | None = None


Extractor = Callable[[], Iterable[Extracted]]


def _relative(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _msgid(message: str | tuple[str | None, ...]) -> str | tuple[str, str] | None:
    """Babel's extracted message as a msgid: one string, or (singular, plural)."""
    if isinstance(message, str):
        return message or None
    texts = [part for part in message if part]
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else (texts[0], texts[1])


def extract_python() -> Iterator[Extracted]:
    """``_()``, ``N_()``, ``ngettext()`` and ``pgettext()`` in the package's Python code."""
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for lineno, message, comments, context in extract_from_file(
            "python", path, keywords=PYTHON_KEYWORDS, comment_tags=("Translators:",)
        ):
            msgid = _msgid(message)
            if msgid is not None:
                comment = " ".join(comments) or None
                yield Extracted(msgid, _relative(path), lineno, context, comment)


def extract_taxonomy() -> Iterator[Extracted]:
    """The names (and descriptions, where there are some) of the taxonomy's groups and codes."""
    if not TAXONOMY.exists():
        return
    data = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    for kind in ("groups", "codes"):
        for index, term in enumerate(data.get(kind, [])):
            for field in ("name", "description"):
                text = term.get(field)
                if text:
                    note = f"taxonomy {field} of {term['code']}"
                    yield Extracted(text, _relative(TAXONOMY), index + 1, None, note)


def extract_scripts() -> Iterator[Extracted]:
    """``t("...")`` in the pages' scripts (``web/static/*.js``, never ``vendor/``)."""
    for path in sorted(STATIC_DIR.glob("*.js")):
        with path.open("rb") as handle:
            found = extract(
                "javascript",
                handle,
                keywords=JS_KEYWORDS,
                comment_tags=("Translators:",),
                options={"jsx": False, "template_string": True},
            )
            for lineno, message, comments, context in found:
                msgid = _msgid(message)
                if msgid is not None:
                    comment = " ".join(comments) or None
                    yield Extracted(msgid, _relative(path), lineno, context, comment)


def extract_templates() -> Iterator[Extracted]:
    """The page templates' ``[[...]]`` markers and the pages' titles (``page_title("...")``).

    See csomatch.i18n.templates: every piece of text a page shows is written inside a marker
    in ``web/templates/*.html``; the titles are in ``web/pages.py``.
    """
    for path in sorted(TEMPLATE_DIR.glob("*.html")):
        with path.open("rb") as handle:
            for lineno, _, message, _comments in extract_markers(handle, None, (), {}):
                yield Extracted(message, _relative(path), lineno)
    pages = PACKAGE_DIR / "web" / "pages.py"
    for lineno, title, _comments, _context in extract_from_file(
        "python", pages, keywords=TITLE_KEYWORDS
    ):
        msgid = _msgid(title)
        if msgid is not None:
            yield Extracted(msgid, _relative(pages), lineno, None, "page title")


#: The hook for the templates' extractor (see ``extract_templates``).
WEB_TEMPLATE_EXTRACTOR: Extractor = extract_templates

EXTRACTORS: dict[str, tuple[Extractor, ...]] = {
    "messages": (extract_python, extract_taxonomy),
    "web": (extract_scripts, lambda: WEB_TEMPLATE_EXTRACTOR()),
}


def template(domain: str) -> Catalog:
    """The domain's template catalogue, extracted from the source now."""
    catalog = Catalog(
        domain=domain,
        project="csomatch",
        copyright_holder="csomatch contributors",
        charset="utf-8",
        fuzzy=False,
    )
    for found in (item for extractor in EXTRACTORS[domain] for item in extractor()):
        catalog.add(
            found.msgid,
            None,
            [(found.path, found.lineno)],
            auto_comments=[found.comment] if found.comment else (),
            context=found.context,
        )
    return catalog


def template_path(domain: str) -> Path:
    """The ``.pot`` file of one domain."""
    return LOCALE_DIR / f"{domain}.pot"


_VOLATILE = re.compile(rb'^"(?:POT-Creation-Date|PO-Revision-Date): .*\n', re.MULTILINE)


def _write_catalogue(path: Path, catalog: Catalog) -> bool:
    """Write ``catalog`` as a ``.po``/``.pot``, unless only its dates would change."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, ignore_obsolete=True, include_lineno=False)
    text = buffer.getvalue()
    if path.exists() and _VOLATILE.sub(b"", path.read_bytes()) == _VOLATILE.sub(b"", text):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text)
    return True


def read_catalogue(path: Path, locale: str | None = None) -> Catalog:
    """A ``.po`` or ``.pot`` file as a Babel catalogue."""
    with path.open("rb") as handle:
        return read_po(handle, locale=locale.replace("-", "_") if locale else None)


def run_extract(domain: str) -> str:
    """Write the domain's template from the source; say what was done."""
    catalog = template(domain)
    changed = _write_catalogue(template_path(domain), catalog)
    count = sum(1 for message in catalog if message.id)
    state = "written" if changed else "unchanged"
    return f"{_relative(template_path(domain))}: {count} messages, {state}"


def run_update(domain: str) -> list[str]:
    """Bring every hand-translated ``.po`` up to the template, keeping its translations."""
    pot = template_path(domain)
    if not pot.exists():
        return [f"{_relative(pot)} is missing: run extract first"]
    report = []
    for locale in TRANSLATED:
        po = catalogue_path(locale, domain)
        if po.exists():
            catalog = read_catalogue(po, locale)
        else:
            catalog = Catalog(locale=locale.replace("-", "_"), domain=domain, fuzzy=False)
            catalog.project = "csomatch"
        catalog.update(read_catalogue(pot), update_creation_date=False)
        changed = _write_catalogue(po, catalog)
        report.append(f"{_relative(po)}: {'updated' if changed else 'unchanged'}")
    report.extend(run_cyrillic(domain))
    return report


def cyrillic_catalogue(locale: str, source: str, domain: str) -> Catalog:
    """The catalogue of ``locale`` transliterated from the ``.po`` of ``source`` (Serbian)."""
    source_po = catalogue_path(source, domain)
    catalog = read_catalogue(source_po, source)
    catalog.locale = locale.replace("-", "_")
    catalog.language_team = locale
    for message in catalog:
        if not message.id:
            continue
        forms = tuple(to_cyrillic(form) for form in _texts(message.string))
        message.string = forms if isinstance(message.id, (tuple, list)) else forms[0]
    catalog.header_comment = (
        f"# Generated from {_relative(source_po)} by\n"
        "# 'python -m csomatch.i18n.catalogues cyrillic': do not edit, edit the Latin one."
    )
    return catalog


def run_cyrillic(domain: str) -> list[str]:
    """Write each generated catalogue (Serbian Cyrillic) from its source by transliteration."""
    report = []
    for locale, source in GENERATED.items():
        if not catalogue_path(source, domain).exists():
            report.append(f"{_relative(catalogue_path(source, domain))} is missing")
            continue
        po = catalogue_path(locale, domain)
        changed = _write_catalogue(po, cyrillic_catalogue(locale, source, domain))
        report.append(f"{_relative(po)}: {'generated' if changed else 'unchanged'}")
    return report


def run_compile(domain: str) -> list[str]:
    """Compile every locale's ``.po`` of the domain into the ``.mo`` beside it."""
    report = []
    for locale in LOCALES:
        po = catalogue_path(locale, domain)
        if locale == DEFAULT_LOCALE or not po.exists():
            continue
        catalog = read_catalogue(po, locale)
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        report.append(f"{_relative(po.with_suffix('.mo'))}: compiled")
    return report


def placeholders(text: str) -> set[str]:
    """The names of the placeholders in one message (``{town}`` and ``%(town)s`` alike)."""
    return {braces or percent for braces, percent in NAMED_PLACEHOLDER.findall(text)}


def _texts(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's id or string as its forms: one, or singular and plurals."""
    if value is None or isinstance(value, str):
        return (value or "",)
    return tuple(form or "" for form in value)


def _label(message: Message) -> str:
    msgid = _texts(message.id)[0]
    context = f"[{message.context}] " if message.context else ""
    return f"{context}{msgid!r}"


def _source_problems(domain: str, source: Catalog) -> Iterator[str]:
    """Problems of the English messages themselves: positional placeholders."""
    for message in source:
        if not message.id:
            continue
        if any(POSITIONAL_PLACEHOLDER.search(text) for text in _texts(message.id)):
            yield f"en/{domain}: {_label(message)}: positional placeholder, name it ({{town}})"


def _translation_problems(message: Message, translated: Message | None) -> str | None:
    """What is wrong with one message's translation, or None."""
    if translated is None:
        return "missing"
    forms = _texts(translated.string)
    if not all(forms):
        return "empty translation"
    if translated.fuzzy:
        return "fuzzy translation (check it, then remove the fuzzy flag)"
    english = _texts(message.id)
    expected = set().union(*(placeholders(text) for text in english))
    for form in forms:
        found = placeholders(form)
        if found - expected or (len(forms) == 1 and found != expected):
            return (
                f"placeholders differ: English has {sorted(expected)}, "
                f"translation {form!r} has {sorted(found)}"
            )
    if len(forms) > 1 and placeholders(forms[-1]) != placeholders(english[-1]):
        return "placeholders of the last plural form differ from the English plural"
    return None


def check_catalogues(
    domain: str, source: Catalog, catalogues: Mapping[str, Catalog | None]
) -> list[str]:
    """Every problem of the given catalogues (locale -> catalogue, None when it is missing).

    A catalogue is complete when each message of ``source`` (the English) has a non-empty,
    non-fuzzy translation with the English's placeholders.
    """
    problems = list(_source_problems(domain, source))
    for locale, catalog in catalogues.items():
        if catalog is None:
            problems.append(
                f"{locale}/{domain}: no catalogue {_relative(catalogue_path(locale, domain))}"
            )
            continue
        for message in source:
            if not message.id:
                continue
            translated = catalog.get(message.id, message.context)
            problem = _translation_problems(message, translated)
            if problem is None and translated is not None and message.pluralizable:
                forms = len(_texts(translated.string))
                if forms != catalog.num_plurals:
                    problem = f"{forms} plural forms, the language has {catalog.num_plurals}"
            if problem is not None:
                problems.append(f"{locale}/{domain}: {_label(message)}: {problem}")
    return problems


def check(domain: str) -> list[str]:
    """Every problem of the domain's catalogues, as ``locale/domain: msgid: problem`` lines.

    The English is the domain's messages as extracted from the source now, so a string marked
    in the code but not yet in the catalogues is a problem too.
    """
    source = template(domain)
    if not any(message.id for message in source):
        return []
    problems = []
    pot = template_path(domain)
    if not pot.exists() or {m.id for m in read_catalogue(pot)} != {m.id for m in source}:
        problems.append(f"{_relative(pot)}: out of date with the source: run extract, update")
    catalogues = {
        locale: read_catalogue(catalogue_path(locale, domain), locale)
        if catalogue_path(locale, domain).exists()
        else None
        for locale in LOCALES
        if locale != DEFAULT_LOCALE
    }
    return problems + check_catalogues(domain, source, catalogues)


def run_check(domain: str) -> list[str]:
    """The problems ``check`` finds, or an all-clear line when there are none."""
    return check(domain)


COMMANDS: dict[str, tuple[Callable[[str], str | list[str]], str]] = {
    "extract": (run_extract, "write locale/<domain>.pot from the source's marked strings"),
    "update": (
        run_update,
        "merge the .pot into each locale's .po (translations kept, changed ones marked "
        "fuzzy), then regenerate the Serbian Cyrillic catalogue",
    ),
    "cyrillic": (
        run_cyrillic,
        "write sr_Cyrl/<domain>.po from sr_Latn/<domain>.po by transliteration "
        "(placeholders, markup and code kept)",
    ),
    "compile": (run_compile, "compile each .po into the .mo the service reads"),
    "check": (
        run_check,
        "fail (exit 1) on a missing, empty or fuzzy translation or on placeholders that "
        "differ from the English; each problem names locale/domain and the msgid",
    ),
}


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m csomatch.i18n.catalogues``."""
    commands = "\n".join(f"  {name:<9} {help}" for name, (_, help) in COMMANDS.items())
    result = argparse.ArgumentParser(
        prog="python -m csomatch.i18n.catalogues",
        description=(
            "Manage csomatch's gettext catalogues (src/csomatch/locale/). A translator edits "
            "only the .po files; after a change in the code run extract, update, translate, "
            "check, compile.\n\ncommands:\n" + commands
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("command", choices=tuple(COMMANDS), help="what to do (see above)")
    result.add_argument(
        "--domain",
        choices=DOMAINS,
        action="append",
        help="messages (what the Python code says) or web (what the pages say); "
        "repeatable; default: both",
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command over the chosen domains; 1 when ``check`` finds a problem."""
    arguments = parser().parse_args(argv)
    run, _ = COMMANDS[arguments.command]
    failed = False
    for domain in arguments.domain or DOMAINS:
        result = run(domain)
        lines = [result] if isinstance(result, str) else result
        if arguments.command == "check" and lines:
            failed = True
            print("\n".join(lines), file=sys.stderr)
        elif arguments.command == "check":
            print(f"{domain}: every catalogue complete")
        else:
            print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
