"""Approximate matching of misspelt health terms ("diabeetes", "alzhiemers", "pregnnant").

Only the lexicon entries that are one plain word (a literal, possibly followed by ``\\w*``, ``s?``, ``es?``) take
part: an entry with context ("heart (?:problems?|...)") or a word the lexicons match only in some contexts is
never matched approximately. Short words are where a typo becomes another word ("cancel" for "cancer"), so
the allowed distance (optimal string alignment: insertions, deletions, substitutions, swaps of neighbours)
grows with the length of the term:

* fewer than 6 letters: never;
* 6 or 7 letters: one letter too many, too few, or two neighbours swapped (no substitution: "strike" is no
  "stroke", "insured" no "injured");
* 8 or 9 letters: one edit;
* 10 letters or more: two edits.

A term written as a stem (``diabet\\w*``) is compared, within one edit, with the beginning of each word. The first letter must be
right, and word forms that only extend or shorten a term are not misspellings (see :func:`_close`). A word is a run of letters
of at least 6. Results are cached per word: need descriptions repeat the same ordinary words.

A word the edit distance does not reach may still sound like a term: its sounds-like key
(:func:`compliance.health_sounds.sounds_like`) equals the key of a plain-word term, or begins with the key of a stem
("pregnent", "kemotherapy", "hospitalisado", "шизафрения"). Words of 6 letters or more, keys of 5 or more.
"""
from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .health_sounds import BLURRED_VOWELS, SOUND_RULES, sounds_like

__all__ = ["FuzzyIndex", "allowed_distance", "plain_word"]

_PLAIN = re.compile(r"([^\W\d_]{6,})(\\w\*|\[[^\W\d_]+\]s?\??|s\?|es\?|'\?s\?|e\?|)")
_TOKEN = re.compile(r"[^\W\d_]{5,}")
_MIN_KEY = 5
_NOT_VOWELS = re.compile(r"[^aeiouyаеиоуыэюяіїє]+")


def plain_word(folded_pattern: str) -> list[tuple[str, bool]]:
    """The (word, is_stem) pairs a lexicon alternative stands for when it is one plain word, else none.

    ``diabet\\w*`` is a stem; ``cancers?`` the word "cancer"; ``embarazad[oa]s?`` the words "embarazado" and
    "embarazada" (a closed list of endings is a list of words, not a stem).
    """
    m = _PLAIN.fullmatch(folded_pattern)
    if m is None:
        return []
    literal, suffix = m.group(1), m.group(2)
    if suffix.startswith("["):
        return [(literal + ending, False) for ending in suffix[1:suffix.index("]")]]
    return [(literal, suffix == "\\w*")]


def allowed_distance(term: str) -> int:
    n = len(term)
    return 0 if n < 6 else 1 if n < 10 else 2


def _close(word: str, term: str, stem: bool, same_length: bool = False) -> bool:
    r"""The rest of the rule, for a word (or the beginning of one, against a stem) within the allowed distance.

    A misspelling keeps the first letter; a word that only adds to a term or lacks its end is another word form
    the lexicon chose not to list ("chirurgien", "hospitals"), as is one that differs only where a stem ends
    ("hospitalisation" against "hospitalise\w*"); a whole word also keeps its last letter and its length within
    one letter.
    """
    if word == term or word[0] != term[0]:
        return False
    if stem:
        if same_length and len(term) < 8 and sorted(word) != sorted(term):
            return False           # a short stem, like a short word, takes no substitution ("infort" vs "infart")
        return not (same_length and word.startswith(term[:-1]))
    if word.startswith(term) or term.startswith(word) or word[-1] != term[-1] or abs(len(word) - len(term)) > 1:
        return False
    return len(term) >= 8 or len(word) != len(term) or sorted(word) == sorted(term)


def _sounds_close(word: str, term: str, rules: str, stem: bool) -> bool:
    """What a word that sounds like a term must also have: the first letter, few edits, and in a short term the
    same vowels, unless it is a whole word of a language that blurs its unstressed vowels ("pregnent", but
    "tremare" is no "tremore", "простота" no "простат-")."""
    if word[0] != term[0] or OSA.distance(word, term) > (2 if len(term) >= 8 else 1):
        return False
    return (len(term) >= 8 or (not stem and rules in BLURRED_VOWELS)
            or _NOT_VOWELS.sub("", word) == _NOT_VOWELS.sub("", term))


class FuzzyIndex:
    """Plain-word terms, by length, each with the value to return when it matches (e.g. a lexicon entry)."""

    def __init__(self, terms: list[tuple[str, bool, int, str]]):
        self._words: dict[int, list[str]] = defaultdict(list)
        self._stems: dict[int, list[str]] = defaultdict(list)
        self._values: dict[tuple[str, bool], int] = {}
        # per sounds-like rule set, for whole words and for stems: key -> (term, value)
        self._sounds: dict[str, tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]] = {}
        for literal, stem, value, language in terms:
            if allowed_distance(literal) and (literal, stem) not in self._values:
                (self._stems if stem else self._words)[len(literal)].append(literal)
                self._values[(literal, stem)] = value
                rules = language if language in SOUND_RULES else ""
                key = sounds_like(literal, rules, whole=not stem)
                if len(key) >= _MIN_KEY:
                    self._sounds.setdefault(rules, ({}, {}))[stem].setdefault(key, (literal, value))
        self.find_word = lru_cache(maxsize=65_536)(self._find_word)

    def __len__(self) -> int:
        return len(self._values)

    def _best(self, candidate: str, length: int, table: dict[int, list[str]], stem: bool,
              whole: bool = False) -> tuple[int, int] | None:
        choices = table.get(length)
        if not choices:
            return None
        found = process.extractOne(candidate, choices, scorer=OSA.distance,
                                   score_cutoff=1 if stem else allowed_distance(choices[0]))
        if found is None or not _close(candidate, found[0], stem and not whole, len(candidate) == length):
            return None
        return found[1], self._values[(found[0], stem)]

    def _find_word(self, word: str) -> int | None:
        """The value of the closest term within its allowed distance of ``word`` (None: nothing close)."""
        best: tuple[int, int] | None = None
        n = len(word)
        for length in range(max(6, n - 2), n + 3):
            found = self._best(word, length, self._words, False)
            if found and (best is None or found[0] < best[0]):
                best = found
        for length in self._stems:
            # the beginning of the word as long as the stem or one letter longer (a letter too many), or the whole
            # word when it is shorter than the stem; one edit at most (a stem is only part of a word)
            for cut in {min(n, length), min(n, length + 1)}:
                if cut < 5:
                    continue
                found = self._best(word[:cut], length, self._stems, True, whole=cut == n and n < length)
                if found and (best is None or found[0] < best[0]):
                    best = found
        if best is None:
            return self._sounding(word) if n >= 6 else None
        return best[1]

    def _sounding(self, word: str) -> int | None:
        """The value of a term that ``word`` sounds like (None: none)."""
        for rules, (words, stems) in self._sounds.items():
            found = words.get(sounds_like(word, rules))
            if found and _sounds_close(word, found[0], rules, False):
                return found[1]
            for cut in range(6, len(word) + 1):
                found = stems.get(sounds_like(word[:cut], rules, whole=cut == len(word)))
                # the word begins with the stem, give or take a letter
                if found and abs(cut - len(found[0])) <= 1 and _sounds_close(word[:cut], found[0], rules, True):
                    return found[1]
        return None

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, value) of each word of ``text`` close to a term."""
        out = []
        for m in _TOKEN.finditer(text):
            value = self.find_word(m.group())
            if value is not None:
                out.append((m.start(), m.end(), value))
        return out
