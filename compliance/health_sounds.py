"""Sounds-like keys for the health-data screen: a misspelling that keeps the sound of a word keeps its key.

People misspell a medical word the way they hear it: "pregnent", "diabetis", "kemotherapy", "hospitalisado",
"esclerozis", "шизафрения", "диабед". Edit distance treats such a slip like any other letter, so it must stay
tight to keep "strike" from being "stroke"; a sounds-like key instead forgives exactly the slips that keep the
sound. :func:`sounds_like` gives the key of a normalised word (lower case, no accents), by script:

* Latin letters: ``ph``→f, ``ch``/``ck``/``qu``→k, ``c`` before e/i/y→s and otherwise k, ``q``→k, ``z``→s,
  ``x``→ks, ``h`` silent, ``y``→i, ``w``/``v``/``b`` one sound; the vowels a, e and o one sound (they blur when
  unstressed), while i and u keep theirs ("strike" and "stroke" stay apart); a doubled letter counts once. In
  Italian and German ``z`` is no ``s`` ("lezione" is no "lesione").
* Cyrillic letters: о and а one sound, е/э/и/ы/і/ї/є one sound, я→а, ю→у (the unstressed vowels of Russian
  and Ukrainian), soft and hard signs silent, ґ→г, a voiced consonant at the end of the word sounds voiceless
  (д→т, б→п, г→к, в→ф, ж→ш, з→с); a doubled letter counts once.

The first vowel and the last letter are kept as written: the first vowel is often stressed and tells apart words
that only share their consonants ("concern" and "cancer"), the last letter carries gender and number ("operate"
is no "operato"). A word's key is compared with the keys of the terms of each language, made by that language's
rules (see :mod:`compliance.health_fuzzy`), so a language's own spelling of a term keeps matching itself.
"""
from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["BLURRED_VOWELS", "SOUND_RULES", "sounds_like"]

_LATIN_DIGRAPHS = re.compile(r"ph|ch|ck|qu|c")
_LATIN_DIGRAPH_SOUNDS = {"ph": "f", "ch": "k", "ck": "k", "qu": "k", "c": "k"}
_LATIN_CONSONANTS = {"h": "", "y": "i", "w": "b", "v": "b", "q": "k", "z": "s", "x": "ks"}
_VOWELS = {"e": "a", "o": "a"}
#: languages where a letter keeps its own sound: the vowels of the Romance languages and German stay clear
_KEPT = {"it": "zeo", "de": "zeo", "es": "eo", "fr": "eo"}
#: rule sets (languages) whose unstressed vowels blur, so that a short word may be misspelt in a vowel
BLURRED_VOWELS = ("", "ru", "uk")
_LATIN = {language: (str.maketrans({k: v for k, v in _LATIN_CONSONANTS.items() if k not in kept}),
                     str.maketrans({k: v for k, v in (_LATIN_CONSONANTS | _VOWELS).items() if k not in kept}))
          for language, kept in _KEPT.items()}
#: languages with rules of their own (the others share the default rules, "")
SOUND_RULES = tuple(_KEPT)
_LATIN[""] = (str.maketrans(_LATIN_CONSONANTS), str.maketrans(_LATIN_CONSONANTS | _VOWELS))
_CYRILLIC_SIGNS = {"ь": "", "ъ": "", "ґ": "г"}
_CYRILLIC_VOWELS = {"о": "а", "я": "а", "е": "и", "э": "и", "ы": "и", "і": "и", "ї": "и", "є": "и", "й": "и",
                    "ю": "у"}
_CYRILLIC_KEYS = (str.maketrans(_CYRILLIC_SIGNS), str.maketrans(_CYRILLIC_SIGNS | _CYRILLIC_VOWELS))
_FIRST_VOWEL = re.compile(r"[aeiouyаеиоуыэюяіїє]")
_DEVOICED = {"д": "т", "б": "п", "г": "к", "в": "ф", "ж": "ш", "з": "с"}
_DOUBLED = re.compile(r"(.)\1+")
_CYRILLIC = re.compile(r"[\u0400-\u052f]")


def _latin_sound(m: re.Match) -> str:
    found = m.group()
    if found == "c" and m.end() < len(m.string) and m.string[m.end()] in "eiy":
        return "s"
    return _LATIN_DIGRAPH_SOUNDS[found]


@lru_cache(maxsize=131_072)
def sounds_like(word: str, language: str = "", whole: bool = True) -> str:
    """The sounds-like key of a normalised word ("pregnent" and "pregnant" both give "pregnant"), or of the
    beginning of one (``whole=False``: its last consonant is not at the end of a word, so it keeps its voice)."""
    first = _FIRST_VOWEL.search(word)
    cut = first.end() if first else len(word)
    if cut >= len(word) - 1:
        return word
    head, middle, last = word[:cut], word[cut:-1], word[-1]
    if _CYRILLIC.search(word):
        last = last.translate(_CYRILLIC_KEYS[0])
        key = head.translate(_CYRILLIC_KEYS[0]) + middle.translate(_CYRILLIC_KEYS[1]) + (_DEVOICED.get(last, last) if whole else last)
    else:
        consonants, letters = _LATIN.get(language, _LATIN[""])
        key = (_LATIN_DIGRAPHS.sub(_latin_sound, head).translate(consonants)
               + _LATIN_DIGRAPHS.sub(_latin_sound, middle).translate(letters) + last)
    return _DOUBLED.sub(r"\1", key)
