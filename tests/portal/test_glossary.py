"""The glossary (i18n/glossary.toml): every concept in every language, and no catalog or e-mail says it otherwise."""
import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from core.accounts import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "i18n" / "glossary.toml"
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
CONCEPTS = ("partner", "introducer", "broker", "case", "lead", "application", "agreement", "commission", "clawback",
            "payout", "statement", "milestone", "consent", "account_manager", "placement", "status", "rate")


def _glossary() -> dict:
    with GLOSSARY.open("rb") as fh:
        return tomllib.load(fh)


def _pattern(word: str) -> re.Pattern:
    """'заявк*' matches every ending of the stem; 'socio' only that word; several words match as a phrase."""
    parts = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) + r"(?!\w)" for w in word.split()]
    start = r"(?<![\w-])" if len(parts) > 1 else r"(?<!\w)"  # a phrase is not the tail of a hyphenated word
    return re.compile(start + r"\s+".join(parts), re.IGNORECASE)


def _rules(glossary: dict, lang: str) -> list[tuple[str, str, re.Pattern, re.Pattern | None]]:
    rules = []
    for concept, entry in glossary["concepts"].items():
        for item in entry.get(lang, {}).get("forbidden", []):
            word, unless = (item, None) if isinstance(item, str) else (item["word"], item.get("unless_en"))
            rules.append((concept, word, _pattern(word), re.compile(unless, re.IGNORECASE) if unless else None))
    return rules


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def violations(glossary: dict, lang: str, entries) -> list[str]:
    """entries: (english text, translated text) pairs; returns one line per forbidden synonym found."""
    found = []
    rules = _rules(glossary, lang)
    for english, text in entries:
        text = PLACEHOLDER.sub(" ", text)
        for concept, word, pattern, unless in rules:
            if unless is not None and unless.search(english):
                continue
            if match := pattern.search(text):
                found.append(f"{lang} {concept}: {match.group(0)!r} (forbidden {word!r}) in {text[:90]!r}")
    return found


def _catalog(lang: str):
    with open(ROOT / "portal" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def _catalog_entries(lang: str, only: set[str] | None = None):
    for message in _catalog(lang):
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if only is not None and key not in only:
            continue
        if not message.id or not message.string:
            continue
        english = " ".join(message.id) if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            yield english, form or ""


def test_glossary_has_every_concept_in_every_language():
    concepts = _glossary()["concepts"]
    missing = [c for c in CONCEPTS if c not in concepts]
    assert missing == [], f"concepts missing from the glossary: {missing}"
    for name, entry in concepts.items():
        assert entry.get("en"), f"{name}: no English definition"
        for lang in TRANSLATED:
            assert lang in entry and entry[lang].get("term"), f"{name}: no term in {lang}"
            assert isinstance(entry[lang].get("forbidden"), list), f"{name}/{lang}: forbidden must be a list"


def test_glossary_states_the_register_of_every_language():
    register = _glossary()["register"]
    assert set(register) == set(TRANSLATED)
    assert all(register[lang]["form"] and register[lang]["forbidden"] for lang in TRANSLATED)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_keeps_the_formal_register(lang):
    informal = [(word, _pattern(word)) for word in _glossary()["register"][lang]["forbidden"]]
    found = [f"{match.group(0)!r} in {text[:90]!r}" for _english, text in _catalog_entries(lang)
             for _word, pattern in informal if (match := pattern.search(PLACEHOLDER.sub(" ", text)))]
    assert found == [], f"{lang}: {len(found)} informal forms, e.g.\n" + "\n".join(found[:15])


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_uses_no_forbidden_synonym(lang):
    found = violations(_glossary(), lang, _catalog_entries(lang))
    assert found == [], f"{len(found)} forbidden synonyms, e.g.\n" + "\n".join(found[:15])


EMAILS = sorted((ROOT / "portal" / "templates" / "email").glob("*.txt"))
JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)


def _email_msgids(path: Path) -> set[str]:
    from jinja2.ext import babel_extract

    with path.open("rb") as fh:
        found = babel_extract(fh, ("_", "gettext", "ngettext"), [], {})
        ids = {m if isinstance(m, str) else (m or (None,))[0] for _line, _func, m, _comments in found}
    return ids - {None}


def test_email_text_all_comes_from_the_catalogs():
    assert EMAILS, "no e-mail templates found"
    for path in EMAILS:
        literal = JINJA.sub("", path.read_text(encoding="utf-8"))
        assert not re.search(r"[^\W\d_]{2,}", literal), f"{path.name}: words outside gettext: {literal.strip()[:80]!r}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_emails_use_no_forbidden_synonym(lang):
    glossary = _glossary()
    found = []
    for path in EMAILS:
        msgids = _email_msgids(path)
        assert msgids, f"{path.name}: no translatable text found"
        found += [f"{path.name}: {v}" for v in violations(glossary, lang, _catalog_entries(lang, msgids))]
    assert found == [], "\n".join(found[:15])


@pytest.mark.parametrize("lang,english,text,flagged", [
    ("es", "Partner", "Socios activos", True),
    ("es", "Social security", "Seguridad social", False),
    ("es", "Open the referral", "Abrir la referencia", True),
    ("es", "Bank reference", "Referencia bancaria", False),
    ("ru", "Open the case", "Открыть заявку", True),
    ("ru", "Introducers", "Агенты-рекомендатели", True),
    ("ru", "Intermediary register", "Реестр посредников", False),
    ("ru", "Agreements", "Договоры", True),
    ("ru", "Contracts", "Договоры", False),
    ("uk", "Agreement", "Договір", True),
    ("uk", "Agreement", "Угода", False),
    ("it", "Status", "Qualifica", True),
    ("it", "Rate", "Tassi", True),
    ("it", "Commission", "Provvigioni", False),
    ("ru", "Account managers", "Менеджеры брокера", True),
    ("ru", "Account managers", "Аккаунт-менеджеры брокера", False),
    ("es", "Key steps", "Los pasos clave", True),
    ("fr", "Enter the date as YYYY-MM-DD.", "Saisissez la date au format YYYY-MM-DD.", True),
])
def test_the_check_catches_inflected_synonyms_and_spares_other_senses(lang, english, text, flagged):
    assert bool(violations(_glossary(), lang, [(english, text)])) is flagged
