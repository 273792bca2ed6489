"""How the health-data screen's lexicons become matchers, and how a text is folded to meet them.

Patterns and texts are normalised alike (:func:`normalise`: NFKD, combining marks stripped, casefolded,
apostrophe and dash variants unified, invisible format characters removed), so "DIABÈTE", "diabete", "диабёт" and
"вагiтна" with a Latin "i" match; :func:`fold_text` also says where each folded character came from, so that a
match is mapped back to the original text.

A lexicon pattern is a regular expression matched as whole words (:func:`prepare` folds it and expands its
shorthands: a space matches any run of spaces and hyphens). All patterns of all languages are compiled into ONE
regular expression (:func:`build_regex`), factored as a trie on their literal prefixes so that the engine only
tries the few patterns that can start with the character at hand; an empty group at the end of each pattern
tells which entry matched. A pattern starting with a group or a small character class ("(?:high|raised)
cholesterol", "[іi]нсулін") is expanded into one pattern per alternative (:func:`expand_leading`) so that it
gets a literal prefix too. Clinical abbreviations get patterns of their own (:func:`abbreviation_pattern`).

What the lexicons say, and what the screen refuses, is `compliance.health_data`'s business. Only the standard
library is used.
"""
from __future__ import annotations

import re
import unicodedata

# --------------------------------------------------------------------------- normalisation

_APOSTROPHES = "'\u2019\u2018\u02bc\u02b9\u0060\u00b4\u2032\uff07\u201b\u02bb"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"


def _fold_char(ch: str) -> str:
    """What one character of the original becomes in the normalised text (possibly several characters or none)."""
    if ch in _APOSTROPHES:
        return "'"
    if ch in _DASHES:
        return "-"
    if unicodedata.category(ch) == "Cf":        # soft hyphen, zero-width space/joiners, BOM: invisible
        return ""
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _FoldTable(dict):
    """``str.translate`` table computed on demand: code point -> normalised string."""

    _MAX = 50_000    # distinct characters kept; beyond that (hostile input) they are folded without caching

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(folded) != 1:
            _IRREGULAR.add(chr(code))
        if len(self) < self._MAX:
            self[code] = folded
        return folded


#: characters that do not fold to exactly one character (filled as the fold table meets them)
_IRREGULAR: set[str] = set()


_FOLD = _FoldTable()


def fold_text(text: str) -> tuple[str, range | list[int]]:
    """``normalise(text)`` and, for each of its characters, the index of the original character it came from."""
    folded = normalise(text)
    if len(folded) == len(text) and _IRREGULAR.isdisjoint(text):
        return folded, range(len(text))
    origin: list[int] = []
    for i, ch in enumerate(text):
        origin.extend([i] * len(_FOLD[ord(ch)]))
    return folded, origin


def normalise(text: str) -> str:
    """The text as the lexicons see it: casefolded, without accents, with unified apostrophes and dashes.

    ``ё`` becomes ``е``, ``й`` becomes ``и`` and ``ї`` becomes ``і`` (their marks are stripped like accents).
    """
    if text.isascii():
        folded = text.lower()        # casefold() of ASCII text is lower(): one character for one
        return folded.replace("`", "'") if "`" in folded else folded
    return text.translate(_FOLD)


# --------------------------------------------------------------------------- lexicon compilation

_META = set("\\.^$*+?{}[]|()")
_QUANTIFIERS = set("*+?{")
#: a space in a pattern; grouped so that a quantifier after the space ("anti ?biotics") applies to the whole run
_SPACE = r"(?:[\s\-]+)"
#: a match must start and end at a word boundary; an apostrophe between non-ASCII letters (Ukrainian
#: "здоров'я", "п'ять") counts as part of the word, an apostrophe after Latin letters does not ("l'asthme").
_LEAD = r"(?<!\w)(?<![^\W\d_a-z]')"
_TRAIL = r"(?!\w)(?!'[^\W\d_a-z])"


def _structure(pattern: str, start: int = 0):
    """(index, character, group depth once past it) for each character of ``pattern`` from ``start`` that is neither
    escaped nor inside a character class: the characters where ``|`` and parentheses are structure."""
    depth, in_class, escaped = 0, False, False
    for i in range(start, len(pattern)):
        ch = pattern[i]
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        else:
            depth += (ch == "(") - (ch == ")")
            yield i, ch, depth


def split_top_level(pattern: str) -> list[str]:
    """Split a pattern on its top-level ``|`` (not inside a group or a character class)."""
    parts, start = [], 0
    for i, ch, depth in _structure(pattern):
        if ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def prepare(pattern: str) -> str:
    """Fold a lexicon pattern like the text and expand its shorthands.

    Literal characters are folded (accents stripped, capitals lowered; escapes like ``\\W`` are left alone), a
    space outside a character class becomes "spaces or hyphens", and a Cyrillic ``і`` also accepts a Latin
    ``i`` (Ukrainian typed on a keyboard without the letter).
    """
    out, in_class, escaped = [], False, False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
            continue
        if ch == "\\":
            out.append(ch)
            escaped = True
            continue
        if in_class:
            if ch == "]":
                in_class = False
                out.append(ch)
            else:
                folded = normalise(ch)
                if len(folded) != 1:
                    folded = ch              # a class holds single characters: keep what cannot fold to one
                out.append(folded + ("i" if folded == "\u0456" else ""))
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
        elif ch == " ":
            out.append(_SPACE)
        elif ch.isascii():
            out.append(ch.lower() if ch.isalpha() else ch)
        else:
            folded = normalise(ch)
            if folded in ("\u044c", "\u044a"):
                out.append("[\u044c\u044a]?")    # soft and hard signs: often left out, lost in transliteration
            elif folded == "\u0456":
                out.append("[\u0456i]")
            elif len(folded) == 1 or not folded:
                out.append(re.escape(folded))
            else:
                out.append("(?:" + re.escape(folded) + ")")
    return "".join(out)


def _literal_prefix(pattern: str) -> tuple[str, str]:
    """Split a prepared pattern into its literal prefix (plain characters, none of them quantified) and the rest."""
    i = 0
    while i < len(pattern) and pattern[i] not in _META:
        i += 1
    if i < len(pattern) and pattern[i] in _QUANTIFIERS and i > 0:
        i -= 1                      # "colou?r": the "u" is optional, so the prefix is "colo"
    return pattern[:i], pattern[i:]


def _group_end(pattern: str, start: int) -> int:
    """Index of the ``)`` closing the group opened at ``pattern[start]`` (-1 if unbalanced)."""
    return next((i for i, ch, depth in _structure(pattern, start) if ch == ")" and depth == 0), -1)


_MAX_EXPANSION = 64


def expand_leading(pattern: str, budget: int = _MAX_EXPANSION) -> list[str]:
    """Rewrite a pattern that starts with a group or a small character class as one pattern per alternative.

    "(?:high|raised) cholesterol" becomes "high cholesterol" and "raised cholesterol", "[іi]нсулін" becomes
    "інсулін" and "iнсулін": a pattern without a literal prefix would be tried at every position of every text,
    expanded it gets one and joins the trie. Same matches, except that the alternatives are no longer tried in
    the written order. Patterns that cannot be expanded safely, or would give more than ``budget`` variants, are
    returned unchanged.
    """
    alternatives: list[str] | None = None
    if pattern.startswith("(?:"):
        end = _group_end(pattern, 0)
        if end > 0:
            alternatives, after = split_top_level(pattern[3:end]), pattern[end + 1:]
    elif pattern.startswith("[") and not pattern.startswith("[^"):
        end = pattern.find("]", 1)
        body = pattern[1:end] if end > 1 else ""
        if body and len(body) <= 4 and not any(c in body for c in "\\-[^"):
            alternatives, after = list(body), pattern[end + 1:]
    if alternatives is None:
        return [pattern]
    if after[:1] == "?" and after[1:2] not in ("?", "+"):
        alternatives, after = alternatives + [""], after[1:]
    elif after[:1] in ("*", "+", "{"):
        return [pattern]
    out: list[str] = []
    for alternative in alternatives:
        variant = alternative + after
        if not variant:
            return [pattern]
        out.extend(expand_leading(variant, budget) if not _literal_prefix(variant)[0] else [variant])
        if len(out) > budget:
            return [pattern]
    return out


class _Trie:
    __slots__ = ("children", "terminals")

    def __init__(self):
        self.children: dict[str, _Trie] = {}
        self.terminals: list[tuple[str, int]] = []    # (rest of the pattern, marker index or -1)


def build_regex(items: list[tuple[str, int]]) -> tuple[re.Pattern, tuple[int, ...]]:
    """One regular expression for all (prepared pattern, entry index) items, factored on literal prefixes.

    Each item ends with an empty group, so ``match.lastindex`` tells which one matched: the second value maps
    group numbers (minus one) to entry indexes.
    """
    root = _Trie()
    for pattern, index in items:
        prefix, rest = _literal_prefix(pattern)
        node = root
        for ch in prefix:
            node = node.children.setdefault(ch, _Trie())
        node.terminals.append((rest, index))
    order: list[int] = []

    def emit(node: _Trie) -> str:
        # no alternative has a top-level "|", so a single one can be concatenated as it is
        alternatives = [re.escape(ch) + emit(child) for ch, child in node.children.items()]
        # at the same node, longer rests first, so that "cancer survivor" is preferred to "cancer"
        for rest, index in sorted(node.terminals, key=lambda t: -len(t[0])):
            order.append(index)
            alternatives.append(rest + "()")
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    source = _LEAD + emit(root) + _TRAIL
    return re.compile(source), tuple(order)


#: month abbreviations written in capitals in dates ("12 SEP 2027"): as such, never a diagnosis
_MONTHS = frozenset(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])


def abbreviation_pattern(abbreviation: str) -> str:
    """An abbreviation as a pattern: letters may be followed by dots ("S.E.P."), one of four characters or more
    may be in any case, and one that is also a month does not count next to a number."""
    pattern = r"\.?".join(map(re.escape, abbreviation)) if abbreviation.isalpha() else re.escape(abbreviation)
    if len(abbreviation) >= 4:
        return f"(?i:{pattern})()"
    if abbreviation in _MONTHS:
        return rf"(?<!\d[ .\-/])(?<!\d){pattern}(?![ .\-/]?\d)()"
    return f"{pattern}()"
