"""Ways of reading a text that undo the usual disguises of a word, for the health-data screen.

People who want a forbidden word through a word filter write it so that a person still reads it and a plain
matcher does not: "d i a b e t e s", "c.a.n.c.e.r", "d1abetes", "cаncer" with a Cyrillic "а", "zhena
beremenna" (Russian in Latin letters), "p@к". :func:`views` returns the text as the lexicons should see it,
read in a few ways; the screen matches its lexicons against each of them. Every view is a string with, for each
of its characters, the index of the character of the ORIGINAL text it came from, so that a hit found in any view
points at the words the person wrote.

The pipeline, in this order (each step is one function below):

1. **Confusables skeleton** (:func:`_skeleton`): a word mixing scripts (Latin with Cyrillic or Greek look-alikes)
   is written in one script, the word's majority script, or the text's when the word is evenly split; a word in
   the text's minority script made only of look-alike letters joins the text's script too ("у отца pak" reads
   "рак"). Look-alikes come from Unicode's confusables data (``confusable-homoglyphs``). One character for one.
2. **Fold** (``fold``, given by the caller: the folded text and the origin of each of its characters): NFKD, combining marks stripped, casefold, apostrophes and dashes
   unified, invisible characters removed -- the lexicons' own normalisation.
3. **De-spacing** (:func:`_despace`): three or more single letters (or digits standing for letters) separated by
   one space or punctuation character each are joined ("d i a b e t e s", "c-a-n-c-e-r", "д і а б е т").
4. **Digits and symbols for letters** (:func:`_unleet`): in a word that has at least two letters, 0→o 1→i 3→e
   4→a 5→s 7→t 8→b @→a $→s, and !→i |→l (Cyrillic words: 0→о 3→з 4→ч 6→б @→а), as first, inner or last
   letter ("@sthma", "3pilepsy", "|upus", "embarazad@"); "!" and "|" not as the last, where they are punctuation.
5. **Transliteration both ways** (:func:`_to_latin`, :func:`_to_cyrillic`): Cyrillic words in Latin letters
   (anyascii), and Latin words in Cyrillic, once the Russian way and once the Ukrainian way, so that "diabet",
   "rak", "insult", "vahitna" meet the Russian and Ukrainian lexicons. Words written all in capitals are left
   alone (acronyms such as RAK, the emirate, are not Russian words), and so is a stretch of text (between
   punctuation) with a common word of a language written in Latin letters ("le document est invalide").

:func:`views` returns the folded text first ("plain"), then, only when they differ from it, the de-obfuscated
text ("disguised") and its transliterations ("transliterated").
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from confusable_homoglyphs import confusables

__all__ = ["View", "views"]


@dataclass(frozen=True)
class View:
    """A reading of the text: ``text[i]`` came from ``original[origin[i]]``."""

    how: str             # plain, disguised, transliterated
    text: str
    origin: Sequence[int]


# --------------------------------------------------------------------------- 1. confusables skeleton

@lru_cache(maxsize=8192)        # called for every letter of a mixed-script text: a per-character table
def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    code = ord(ch)
    if code < 0x250:
        return "latin"
    if 0x370 <= code < 0x400:
        return "greek"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    return None


@lru_cache(maxsize=4096)
def _look_alike(ch: str, script: str) -> str:
    """The letter of ``script`` that looks like ``ch`` (``ch`` itself when none does)."""
    if _script(ch) == script:
        return ch
    if script == "cyrillic" and ch in "kK":      # missing from the confusables data, common in disguises
        return {"k": "к", "K": "К"}[ch]
    found = confusables.is_confusable(ch, preferred_aliases=[script])
    for glyph in (found[0]["homoglyphs"] if found else []):
        if len(glyph["c"]) == 1 and _script(glyph["c"]) == script and glyph["c"] not in "гГ":   # г is no r
            return glyph["c"]
    return ch


_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_OTHER_SCRIPT = re.compile(r"[\u0370-\u052f]")


_MIXED_WORD = re.compile(r"[^\W\d_]+(?:[\d@$!|]+[^\W\d_]+)*")


def _skeleton(text: str) -> str:
    if not (_OTHER_SCRIPT.search(text) and _LATIN_LETTER.search(text)):
        return text          # one script only: nothing to mix
    counts = {"latin": 0, "cyrillic": 0}
    for ch, n in Counter(text).items():        # each distinct character once, times its count
        script = _script(ch)
        if script in counts:
            counts[script] += n
    text_script = "cyrillic" if counts["cyrillic"] > counts["latin"] else "latin"
    out = []
    pos = 0
    for word in _MIXED_WORD.finditer(text):
        new = _word_skeleton(word.group(), text_script)
        if new is not None:
            out.append(text[pos:word.start()])
            out.append(new)
            pos = word.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


@lru_cache(maxsize=65_536)
def _word_skeleton(word: str, text_script: str) -> str | None:
    """``word`` written in one script (see :func:`_skeleton`), or None when it stays as it is."""
    letters = [s for s in map(_script, word) if s]
    tally = {s: letters.count(s) for s in set(letters)}
    if len(tally) > 1:
        best = max(tally.values())
        leaders = [s for s, n in tally.items() if n == best]
        target = text_script if text_script in leaders or len(leaders) > 1 else leaders[0]
        if target == "greek":
            target = "latin"
    elif tally and next(iter(tally)) != text_script:
        target = text_script
        if any(_look_alike(ch, target) == ch for ch in word if _script(ch)):
            return None        # a genuine foreign word, not one made of look-alikes
    else:
        return None
    return "".join(_look_alike(ch, target) for ch in word)


# --------------------------------------------------------------------------- 3. de-spacing, 4. digits for letters

_SPREAD = re.compile(r"(?<![^\W_])[^\W_@$](?:[ .\-_*·/|+~,:'][^\W_@$]){2,}(?![^\W_])")
_LATIN_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                             "@": "a", "$": "s", "!": "i", "|": "l"})
_CYRILLIC_LEET = str.maketrans({"0": "о", "3": "з", "4": "ч", "6": "б", "@": "а", "$": "ѕ"})
_LEET_CHARACTER = re.compile(r"[\d@$!|]")
#: a symbol may stand for a letter anywhere in a word, first and last letters included ("@sthma", "|upus",
#: "embarazad@"); "!" and "|" only at the start or inside, since at the end they are punctuation ("c@ncer!")
_LEET_WORD = re.compile(r"(?:(?<![\w@$!|])[@$!|])?[^\W_]+(?:[!|@$]+[^\W_]+)*[@$]?")


#: one-letter words that may stand just before a word spread out ("had a h e a r t  a t t a c k")
_ONE_LETTER_WORDS = set("aiyeouàèéвсукиаояізй")


_WORD_BEFORE = re.compile(r"[^\W_]{2,}[\s]+$")


def _despace(text: str, keep_first_word: bool = False) -> list[tuple[int, int, str, list[int]]]:
    out = []
    for m in _SPREAD.finditer(text):
        run, offsets = m.group()[::2], list(range(0, len(m.group()), 2))
        after_word = _WORD_BEFORE.search(text[:m.start()]) is not None
        if keep_first_word and after_word and run[0] in _ONE_LETTER_WORDS and len(run) > 3:
            run, offsets = run[0] + " " + run[1:], [0, 1] + offsets[1:]
        if sum(ch.isalpha() for ch in run) >= 2:
            out.append((m.start(), m.end(), run, offsets))
    return out


def _unleet(text: str) -> list[tuple[int, int, str, None]]:
    out: list = []
    if not _LEET_CHARACTER.search(text):
        return out
    for m in _LEET_WORD.finditer(text):
        new = _unleet_word(m.group())
        if new is not None:
            out.append((m.start(), m.end(), new, None))
    return out


@lru_cache(maxsize=65_536)
def _unleet_word(word: str) -> str | None:
    """``word`` with digits and symbols read as letters, or None when it is no such word."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) < 2 or len(letters) == len(word) or word.isdigit():
        return None
    cyrillic = sum(_script(ch) == "cyrillic" for ch in letters) * 2 > len(letters)
    return word.translate(_CYRILLIC_LEET if cyrillic else _LATIN_LEET)


# --------------------------------------------------------------------------- 5. transliteration

_CYRILLIC_TO_LATIN = {"ь": "", "ъ": "", "й": "i", "ы": "y"}
_LATIN_DIGRAPHS = {   # longest first; the Russian and Ukrainian ways differ on a few letters
    "ru": [("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
           ("tz", "ц"), ("yu", "ю"), ("iu", "ю"), ("ju", "ю"), ("ya", "я"), ("ia", "я"), ("ja", "я"),
           ("yo", "е"), ("ye", "е"), ("je", "е"), ("iy", "ий"), ("yy", "ый"), ("'", "ь")],
    "uk": [("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("yu", "ю"),
           ("iu", "ю"), ("ya", "я"), ("ia", "я"), ("ie", "є"), ("ye", "є"), ("yi", "ї"), ("'", "ь")],
}
_LATIN_LETTERS = {
    "ru": dict(zip("abvgdezijklmnoprstufhcyxwq", "абвгдезийклмнопрстуфхцыквк", strict=True)),
    "uk": dict(zip("abvgdezijklmnoprstufhcyxwq", "абвгдезіїклмнопрстуфгциквк", strict=True)),
}
_LATIN_LETTERS["ru"]["x"] = _LATIN_LETTERS["uk"]["x"] = "кс"


def _to_latin(text: str) -> list:
    return [(m.start(), m.end(), *_word_to_latin(m.group())) for m in _CYRILLIC_WORD.finditer(text)]


_CYRILLIC_WORD = re.compile(r"[\u0400-\u052f]+")


@lru_cache(maxsize=65_536)
def _word_to_latin(word: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(word):
        latin = _CYRILLIC_TO_LATIN.get(ch, anyascii(ch).lower())
        chars.append(latin)
        offsets.extend([i] * len(latin))
    return "".join(chars), offsets


#: common words of the languages written in Latin letters (en, fr, it, es, de, pt, nl): a stretch of text with
#: one of them is not Russian or Ukrainian in Latin letters, and is not transliterated ("le document est invalide")
_LATIN_FUNCTION_WORDS = frozenset(["the", "and", "is", "are", "was", "with", "for", "to", "of", "in", "on", "has", "have", "from", "at", "by", "an", "this", "that", "his", "her", "their", "who", "le", "la", "les", "est", "et", "avec", "pour", "des", "du", "une", "un", "dans", "il", "elle", "ils", "sur", "au", "aux", "lo", "gli", "che", "con", "per", "di", "del", "della", "una", "sono", "ha", "nel", "el", "los", "las", "con", "para", "por", "que", "esta", "tiene", "su", "sus", "muy", "der", "die", "das", "und", "ist", "mit", "fur", "von", "ein", "eine", "einen", "nach", "hat", "sich", "os", "com", "uma", "nao", "tem", "het", "een", "van", "voor", "naar", "met"])
_SEGMENT = re.compile(r"[^.;:!?,()\n]+")
_ASCII_WORD = re.compile(r"[a-z]+")


def _to_cyrillic(text: str, original: str, origin: Sequence[int], way: str) -> list[tuple[int, int, str, list[int]]]:
    return [(start, end, *_word_to_cyrillic(word, way)) for start, end, word in _latin_words(text, original, origin)]


def _latin_words(text: str, original: str, origin: Sequence[int]) -> list[tuple[int, int, str]]:
    """(start, end, word) of the words of ``text`` to write in Cyrillic letters: in a stretch without a common word
    of a language written in Latin letters, not all in capitals in the original. The same for both ways."""
    out = []
    for segment in _SEGMENT.finditer(text):
        words = _ASCII_WORD.findall(segment.group())
        if words and not _LATIN_FUNCTION_WORDS.intersection(words):
            for m in _LATIN_WORD.finditer(text, segment.start(), segment.end()):
                source = original[origin[m.start()]:origin[m.end() - 1] + 1]
                if len(source) > 1 and source.isupper():
                    continue
                out.append((m.start(), m.end(), m.group()))
    return out


_LATIN_WORD = re.compile(r"[a-z']+")


@lru_cache(maxsize=65_536)
def _word_to_cyrillic(word: str, way: str) -> tuple[str, list[int]]:
    """A Latin word in Cyrillic letters, with the offset in the word of the letter each one comes from."""
    digraphs, letters = _LATIN_DIGRAPHS[way], _LATIN_LETTERS[way]
    chars: list[str] = []
    offsets: list[int] = []
    pos = 0
    while pos < len(word):
        digraph = next(((latin, cyrillic) for latin, cyrillic in digraphs if word.startswith(latin, pos)), None)
        latin, cyrillic = digraph or (word[pos], letters.get(word[pos], word[pos]))
        chars.append(cyrillic)
        offsets.extend([pos] * len(cyrillic))
        pos += len(latin)
    return "".join(chars), offsets


# --------------------------------------------------------------------------- putting it together

def _apply(view: View, edits: list[tuple[int, int, str, list[int] | None]], how: str) -> View:
    """``view`` with ``text[start:end]`` replaced by each edit's string (edits in order, not overlapping).

    An edit may say where each of its new characters came from (offsets from ``start``); by default a new
    character points at the old one in the same place, or at the last one of the span. The origins are worked out
    only when asked for (:class:`_Origin`): most texts are clean, and a view without a hit never needs them.
    """
    if not edits:
        return view
    chars: list[str] = []
    pos = 0
    for start, end, new, _ in edits:
        chars.append(view.text[pos:start])
        chars.append(new)
        pos = end
    chars.append(view.text[pos:])
    return View(how, "".join(chars), _Origin(view.origin, edits))


class _Origin(Sequence):
    """The origins of a view made by :func:`_apply`, computed on first use from its parent's and the edits."""

    __slots__ = ("_edits", "_list", "_parent")

    def __init__(self, parent: Sequence[int], edits: list[tuple[int, int, str, list[int] | None]]):
        self._parent, self._edits, self._list = parent, edits, None

    def _origins(self) -> list[int]:
        if self._list is None:
            before = self._parent
            origin: list[int] = []
            pos = 0
            for start, end, new, offsets in self._edits:
                origin.extend(before[pos:start])
                if offsets:
                    origin.extend([before[start + k] for k in offsets])
                elif len(new) <= end - start:          # each new character from the old one in the same place
                    origin.extend(before[start:start + len(new)])
                else:
                    origin.extend(before[start + min(k, end - start - 1)] for k in range(len(new)))
                pos = end
            origin.extend(before[pos:])
            self._list = origin
        return self._list

    def __getitem__(self, index):
        return self._origins()[index]

    def __len__(self) -> int:
        return len(self._origins())

    def __iter__(self):
        return iter(self._origins())

    def __eq__(self, other) -> bool:          # like the list it stands for
        if isinstance(other, _Origin):
            return self._origins() == other._origins()
        return self._origins() == other if isinstance(other, list) else NotImplemented

    __hash__ = None


_ASCII_LETTER = re.compile(r"[a-z]")


def _folded(text: str, fold: Callable[[str], tuple[str, Sequence[int]]], how: str) -> View:
    return View(how, *fold(text))


def views(text: str, fold: Callable[[str], tuple[str, Sequence[int]]]) -> list[View]:
    """The readings of ``text`` to screen: plain first, then the de-obfuscated and transliterated ones."""
    plain = _folded(text, fold, "plain")
    skeleton = _skeleton(text)
    folded = plain if skeleton == text else _folded(skeleton, fold, "disguised")
    out = [plain]
    disguised: list[View] = []
    spread = _despace(folded.text)
    despaced = [_apply(folded, spread, "disguised")]
    if spread:
        despaced.append(_apply(folded, _despace(folded.text, keep_first_word=True), "disguised"))
    for view in despaced:
        view = _apply(view, _unleet(view.text), "disguised")
        if all(view.text != seen.text for seen in out + disguised):
            disguised.append(View("disguised", view.text, view.origin))
    out += disguised
    base = disguised[0] if disguised else plain
    if _CYRILLIC.search(base.text):
        out.append(_apply(base, _to_latin(base.text), "transliterated"))
    if _ASCII_LETTER.search(base.text):
        words = _latin_words(base.text, text, base.origin)
        if words:
            for way in ("ru", "uk"):
                edits = [(start, end, *_word_to_cyrillic(word, way)) for start, end, word in words]
                out.append(_apply(base, edits, "transliterated"))
    return out
