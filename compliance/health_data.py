"""Screening of free text for health data (GDPR art. 9 special-category data).

Introducers refer leads with a short free-text "need description". They must never send medical data, so the
portal refuses a description that states something about a person's health: a condition or disease, a symptom,
a treatment or operation, a medication, a pregnancy, a disability, a mental-health condition, a diagnosis or a
test result, or the person's health status (smoker, "in good health").

What is NOT health data here -- the policy the lexicons implement:

* Wanted insurance cover is not a statement about anybody's health. "Health insurance", "medical cover",
  "hospital cover", "dental and optical options", "check-up included?", "the doctor network in Dubai",
  "family doctor appointment for the visa" are clean.
* A wish for a *benefit* named after a kind of care is allowed: "maternity cover for the future", "pregnancy and
  childbirth cover", "mental health cover for his staff", "physiotherapy included?", "are pre-existing
  conditions covered?". Stating that someone *is* pregnant, *has* a condition or *needs* a treatment is not:
  "she is pregnant and wants maternity cover" is refused (because of "pregnant"), "cover for her pregnancy" is
  refused (a possessive turns the benefit into a fact about her).
* A named disease, drug or procedure is always refused, even inside a cover wish ("cover for diabetes"): naming
  it reveals that somebody concerned has it.
* Professions ("a surgeon moving to Auckland", "nurse"), places ("private hospitals in Bangkok"), companies and
  non-medical senses of ambiguous words ("tax treatment", "operations manager", "terms and conditions",
  "expecting to move in March") are clean.

How it works:

* One lexicon per language in ``compliance/health_terms/<lang>.txt``: ``category<TAB>pattern`` lines, ``#``
  comments. A pattern is a regular expression matched against the *normalised* text (see
  :func:`~compliance.health_matcher.normalise`) as whole words: a space in a pattern matches any run of spaces and
  hyphens, ``\\w*`` after a stem covers inflections (``диабет\\w*``). Accents and capitals in a pattern are folded
  like the text, so lexicons can be written naturally. Capturing groups are not allowed (use ``(?:...)``). Lines
  with category ``allow`` are context patterns: a hit lying entirely inside an allow match is dropped ("pregnancy
  cover"). Clinical abbreviations (HIV, T2D, ВИЧ) are listed in ``abbreviations.txt``.
* Every language's lexicon is screened on every text (people mix languages): all patterns are compiled into one
  regular expression (`compliance.health_matcher`), the allow patterns into a second one, run only when there is
  a hit. A hit is credited to the first language (in :data:`LANGUAGES` order) whose lexicon matches the same span.
* The text is read in a few ways that undo the usual disguises (`compliance.health_views`), and near-miss
  spellings are found too (`compliance.health_fuzzy`); match offsets are mapped back to the original text.

The module does not import Flask.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.i18n import N_

from .errors import LexiconError
from .health_fuzzy import FuzzyIndex, plain_word
from .health_matcher import (abbreviation_pattern, build_regex, expand_leading, fold_text, normalise, prepare,
                             split_top_level)
from .health_views import View, views

__all__ = [
    "CATEGORIES", "LANGUAGES", "UNSURE_CATEGORIES", "Assessment", "Hit", "Screener", "Verdict", "assess",
    "contains_health_data", "default_screener", "screen",
]

#: the portal's six languages, then German: people write in the language they think in
LANGUAGES = ("en", "fr", "it", "es", "ru", "uk", "de")

#: categories a lexicon entry may have (besides ``allow``)
CATEGORIES = (
    "condition",          # diseases, disorders, injuries, allergies
    "symptom",            # pain, seizures, lumps, ...
    "treatment",          # therapies, operations, procedures, being treated / hospitalised
    "medication",         # drugs, drug classes, medical devices taken or worn (inhaler, insulin pump)
    # being pregnant, expecting a baby, giving birth, miscarriage, IVF. Not called "pregnancy": category names
    # are written to the audit log of a refusal, which must not contain words of the refused text.
    "reproductive_health",
    "disability",         # physical, sensory and learning disabilities, aids for them
    "mental_health",      # mental-health conditions, addiction, psychiatric care
    "diagnosis_or_test",  # diagnoses, tests and scans, results and measurements
    "health_status",      # smoking status, "in good health", BMI
    # phrases that often hide one of the above but need not ("the big C", "heart trouble", "under treatment",
    # "she is expecting", "on medication"): the screen is unsure, and the text is refused all the same
    "euphemism",
)
#: what a person reads for each category (a refusal's record shows these, never the refused words)
CATEGORY_LABELS = {
    "condition": N_("a condition"),
    "symptom": N_("a symptom"),
    "treatment": N_("a treatment"),
    "medication": N_("a medication"),
    "reproductive_health": N_("reproductive health"),
    "disability": N_("a disability"),
    "mental_health": N_("mental health"),
    "diagnosis_or_test": N_("a diagnosis or a test"),
    "health_status": N_("a state of health"),
    "euphemism": N_("a veiled reference to health"),
}
#: a hit of these categories, or an approximate one, makes the screen unsure rather than certain
UNSURE_CATEGORIES = ("euphemism",)
ALLOW = "allow"
ABBREVIATIONS_FILE = "abbreviations.txt"

LEXICON_DIR = Path(__file__).resolve().parent / "health_terms"


@dataclass(frozen=True)
class Hit:
    """One piece of health data found in a text.

    ``term`` is the matched text as written in the original (``text[start:end]``), ``language`` the lexicon whose
    entry matched (when several languages share a word, the first in :data:`LANGUAGES` order), ``category`` one
    of :data:`CATEGORIES`; ``start``/``end`` are offsets in the ORIGINAL text.
    """

    term: str
    language: str
    category: str
    start: int
    end: int
    #: how the term was found: "plain", "disguised" (spread out, digits for letters, look-alike letters),
    #: "transliterated", "abbreviation" or "approximate" (a misspelling within the allowed distance)
    how: str = "plain"

    @property
    def certain(self) -> bool:
        return self.category not in UNSURE_CATEGORIES and self.how != "approximate"


class Verdict(StrEnum):
    clean = "clean"                  # may be stored
    health_data = "health_data"      # states something about a person's health: refused
    unsure = "unsure"                # may hide health data: refused, asking the writer to remove health details


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    hits: tuple[Hit, ...]

    @property
    def categories(self) -> list[str]:
        return sorted({hit.category for hit in self.hits})


#: the order in which readings of a text are preferred when several find a term at the same place
_RANK = {"plain": 0, "disguised": 1, "transliterated": 2, "abbreviation": 3, "approximate": 4}


@dataclass(frozen=True)
class _Entry:
    language: str
    category: str
    source: str         # the pattern as written in the lexicon
    where: str          # file:line, for error messages


class Screener:
    """The compiled lexicons of some languages. :func:`default_screener` holds the portal's."""

    def __init__(self, directory: Path | str = LEXICON_DIR, languages: tuple[str, ...] = LANGUAGES):
        self.directory = Path(directory)
        self.languages = tuple(languages)
        entries: list[_Entry] = []
        items: list[tuple[str, int]] = []
        allow_items: list[tuple[str, int]] = []
        for language in self.languages:
            path = self.directory / f"{language}.txt"
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                raise LexiconError(f"missing lexicon for language {language!r}: {path}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise LexiconError(f"cannot read lexicon {path}: {exc}") from None
            for lineno, raw in enumerate(lines, 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                where = f"{path.name}:{lineno}"
                category, sep, pattern = line.partition("\t")
                category, pattern = category.strip(), pattern.strip()
                if not sep or not pattern:
                    raise LexiconError(f"{where}: expected 'category<TAB>pattern', got {raw!r}")
                if category != ALLOW and category not in CATEGORIES:
                    raise LexiconError(f"{where}: unknown category {category!r}")
                prepared = prepare(pattern)
                try:
                    alone = re.compile(prepared)
                except re.error as exc:
                    raise LexiconError(f"{where}: bad pattern {pattern!r}: {exc}") from None
                if alone.groups:
                    raise LexiconError(f"{where}: capturing group in {pattern!r}; use (?:...)")
                if alone.fullmatch(""):
                    raise LexiconError(f"{where}: pattern {pattern!r} matches the empty string")
                entry = _Entry(language, category, pattern, where)
                entries.append(entry)
                target = allow_items if category == ALLOW else items
                for part in split_top_level(prepared):
                    target.extend((variant, len(entries) - 1) for variant in expand_leading(part))
        if not items:
            raise LexiconError(f"no lexicon entries in {self.directory}")
        self._entries = tuple(entries)
        self._regex, self._order = build_regex(items)
        # one expression per language, used only on a hit to credit it to the first language (in the order of
        # ``languages``) whose lexicon matches the same span: the combined trie tries longer prefixes first
        # (compiled on the first hit: most texts are clean)
        self._language_items: dict[str, list[tuple[str, int]]] = {language: [] for language in self.languages}
        for item in items:
            self._language_items[entries[item[1]].language].append(item)
        self._by_language_cache: tuple[tuple[re.Pattern, tuple[int, ...]], ...] | None = None
        self._allow = build_regex(allow_items)[0] if allow_items else None
        self._fuzzy = FuzzyIndex([(*word, index, entry.language) for index, entry in enumerate(entries)
                                  if entry.category != ALLOW
                                  for part in split_top_level(normalise(entry.source)) for word in plain_word(part)])
        self._abbreviations, abbreviation_entries = _load_abbreviations(self.directory, self.languages,
                                                                        len(entries))
        self._abbreviation_base = len(entries)
        self._entries = tuple(entries) + tuple(abbreviation_entries)
        self.size = sum(1 for e in entries if e.category != ALLOW) + len(abbreviation_entries)
        self.allow_size = len(entries) - self.size + len(abbreviation_entries)
        self.fuzzy_size = len(self._fuzzy)

    def _scan(self, text: str) -> list[tuple[Hit, _Entry]]:
        if not isinstance(text, str):
            raise TypeError(f"screen() needs a str, not {type(text).__name__}")
        found: list[tuple[int, int, int, str, _Entry]] = []     # (start, end, rank of how, how, entry)
        for view in views(text, fold_text):
            found.extend(self._scan_view(view))
        if self._abbreviations is not None:
            found.extend((m.start(), m.end(), 3, "abbreviation", self._entries[self._abbreviation_index(m)])
                         for m in self._abbreviations.finditer(text))
        # several readings find the same word: keep the first hit at a place, preferring the plainest reading
        found.sort(key=lambda f: (f[0], f[2], -f[1]))
        out, reached = [], 0
        for start, end, _, how, entry in found:
            if start < reached:
                continue
            reached = end
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1                      # decomposed input: keep the accent with its letter
            out.append((Hit(text[start:end], entry.language, entry.category, start, end, how), entry))
        return out

    def _scan_view(self, view: View) -> list[tuple[int, int, int, str, _Entry]]:
        norm = view.text
        spans = [(m.start(), m.end(), self._first_language_entry(norm, m.start(), m.end(),
                                                                 self._entries[self._order[m.lastindex - 1]]),
                  view.how) for m in self._regex.finditer(norm)]
        if view.how != "transliterated":
            spans += [(start, end, self._entries[index], "approximate")
                      for start, end, index in self._fuzzy.find(norm)]
        if spans and self._allow is not None:
            allowed = [m.span() for m in self._allow.finditer(norm)]
            spans = [f for f in spans if not any(a <= f[0] and f[1] <= b for a, b in allowed)]
        return [(view.origin[start], view.origin[end - 1] + 1, _RANK[how], how, entry)
                for start, end, entry, how in spans if end > start]

    def _abbreviation_index(self, match: re.Match) -> int:
        return self._abbreviation_base + match.lastindex - 1

    def _first_language_entry(self, norm: str, start: int, end: int, entry: _Entry) -> _Entry:
        """The entry of the first language whose lexicon matches exactly ``norm[start:end]`` (else ``entry``)."""
        if self._by_language_cache is None:      # a race only compiles it twice
            self._by_language_cache = tuple(build_regex(lang_items)
                                            for lang_items in self._language_items.values() if lang_items)
        for regex, order in self._by_language_cache:
            m = regex.fullmatch(norm, start, end)
            if m is not None:
                return self._entries[order[m.lastindex - 1]]
        return entry

    def screen(self, text: str) -> list[Hit]:
        """All health-data hits in ``text``, in order, not overlapping. An empty list means the text is clean."""
        return [hit for hit, _ in self._scan(text)]

    def explain(self, text: str) -> list[tuple[Hit, str]]:
        """Each hit with the lexicon line that produced it ("en.txt:12: diabet\\w*"), for tuning the lexicons."""
        return [(hit, f"{entry.where}: {entry.source}") for hit, entry in self._scan(text)]

    def allowed_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of the normalised text matched by allow patterns (for tuning the lexicons)."""
        return [m.span() for m in self._allow.finditer(normalise(text))] if self._allow is not None else []


def _load_abbreviations(directory: Path, languages: tuple[str, ...], base: int) -> tuple[re.Pattern | None,
                                                                                      list[_Entry]]:
    """Clinical abbreviations (HIV, T2D, ВИЧ), matched as whole tokens of the original text, in capitals as
    written (short ones are ordinary words in small letters: "ms", "sep"); four characters or more in any case;
    with or without dots after the letters ("E.M.").

    File format: ``language<TAB>category<TAB>ABBREVIATION``. Entries of languages not screened are skipped.
    """
    path = directory / ABBREVIATIONS_FILE
    if not path.exists():
        return None, []
    entries, alternatives = [], []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) != 3 or not parts[2]:
            raise LexiconError(f"{path.name}:{lineno}: expected 'language<TAB>category<TAB>ABBREVIATION'")
        language, category, abbreviation = parts
        if category not in CATEGORIES:
            raise LexiconError(f"{path.name}:{lineno}: unknown category {category!r}")
        if language not in languages:
            continue
        entries.append(_Entry(language, category, abbreviation, f"{path.name}:{lineno}"))
        alternatives.append((abbreviation, abbreviation_pattern(abbreviation)))
    if not entries:
        return None, []
    order = sorted(range(len(alternatives)), key=lambda i: -len(alternatives[i][0]))
    regex = re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives[i][1] for i in order) + r")(?![^\W_])")
    # group k (1-based) belongs to alternatives[order[k - 1]]: reorder the entries to match
    return regex, [entries[i] for i in order]


_default: Screener | None = None
_default_lock = threading.Lock()


def default_screener() -> Screener:
    """The screener for the portal's six lexicons, compiled on first use and kept for the process."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Screener()
    return _default


def screen(text: str) -> list[Hit]:
    """All health-data hits in ``text`` (empty list: clean), screened with every language's lexicon."""
    return default_screener().screen(text)


def contains_health_data(text: str) -> bool:
    """True when ``text`` states something about a person's health, or may hide it, and must be refused."""
    return bool(default_screener().screen(text))


def assess(text: str) -> Assessment:
    """The screen's verdict on ``text``: clean, health data (a certain hit), or unsure (only euphemisms or
    approximate matches)."""
    hits = tuple(default_screener().screen(text))
    if not hits:
        return Assessment(Verdict.clean, hits)
    return Assessment(Verdict.health_data if any(hit.certain for hit in hits) else Verdict.unsure, hits)
