"""Six languages: complete catalogs, the user's choice remembered, Accept-Language for visitors."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from core.accounts import LANGUAGES, Role, User
from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}


def _source_msgids() -> set[str]:
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.fixture(scope="module")
def msgids():
    ids = _source_msgids()
    assert len(ids) > 150, "extraction found suspiciously few strings"
    return ids


def read_catalog(lang: str):
    with open(ROOT / "portal" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def untranslated(catalog, msgids) -> list[str]:
    """The msgids the catalog lacks, leaves empty or marks fuzzy."""
    return sorted(m for m in msgids if not (catalog.get(m) and catalog.get(m).string
                                            and "fuzzy" not in catalog.get(m).flags))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_translates_every_string_in_the_code(lang, msgids):
    missing = untranslated(read_catalog(lang), msgids)
    assert missing == [], f"{lang}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_catalog_keeps_placeholders(lang):
    import re

    with open(ROOT / "portal" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalog:
        if not (message.id and message.string):
            continue
        if isinstance(message.id, tuple):  # a plural: every form keeps the plural msgid's placeholders
            wanted = sorted(pattern.findall(message.id[1]))
            assert sorted(pattern.findall(message.id[0])) == wanted, message.id
            for form in message.string:
                assert sorted(pattern.findall(form)) == wanted, message.id
        else:
            assert sorted(pattern.findall(message.id)) == sorted(pattern.findall(message.string)), message.id


@pytest.mark.parametrize("lang,expected", [("fr", "Se connecter"), ("it", "Accedi"), ("es", "Iniciar sesión"),
                                           ("ru", "Войти"), ("uk", "Увійти"), ("en", "Sign in")])
def test_visitors_get_their_browser_language(client, lang, expected):
    html = client.get("/login", headers={"Accept-Language": f"{lang};q=1.0, en;q=0.5"}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and expected in html


def test_visitor_can_switch_language(client):
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    r = client.post("/language", data={"locale": "uk", "next": "/login", "csrf_token": csrf_from(page)})
    assert r.status_code == 302 and r.location.endswith("/login")
    assert "Увійти" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_signed_in_choice_is_stored_on_the_user(login, make_user, session):
    user = make_user(Role.finance, locale="en")
    c = login(user)
    page = c.get("/").get_data(as_text=True)
    c.post("/language", data={"locale": "es", "next": "/", "csrf_token": csrf_from(page)})
    session.expire_all()
    assert session.get(User, user.id).locale == "es"
    # a new browser session picks it up from the account, not from the browser
    again = login(session.get(User, user.id))
    assert "Cerrar sesión" in again.get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    page = client.get("/login").get_data(as_text=True)
    client.post("/language", data={"locale": "xx", "csrf_token": csrf_from(page)})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_invitation_email_is_written_in_the_recipients_language(app, session, make_user):
    from sqlalchemy import select

    from core.outbox import OutboxMessage
    from portal.accounts import operations as ops

    with app.test_request_context():
        ops.create_user(session, None, email="ivan@example.org", full_name="Іван", role=Role.volunteer,
                        organisation=None, locale="uk")
    session.commit()
    msg = session.execute(select(OutboxMessage)).scalar_one()
    assert msg.locale == "uk" and "Іван" in msg.body_text
    assert "Hello" not in msg.body_text and "partner portal" not in msg.subject
