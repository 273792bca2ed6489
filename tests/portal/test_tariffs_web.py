"""The tariff and zone editor: versions listed per cover, a grid shown, a new version from a date with each
problem under its own input (nothing written), the zone table reviewed from a date."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.accounts import Role
from core.audit import AuditEvent
from core.db import utcnow
from funnel.catalogue import Cover
from funnel.models import TariffVersion, ZoneTable
from funnel.seed import seed_sample_products
from funnel.tariffs import tariff_in_force, zones_in_force
from tests.conftest import csrf_from


@pytest.fixture
def admin_client(session, make_user, login):
    seed_sample_products(session)
    session.commit()
    return login(make_user(Role.admin))


def _version(session, cover) -> TariffVersion:
    return session.scalars(select(TariffVersion).where(TariffVersion.cover == cover)).first()


def _form(html: str) -> dict:
    import re

    fields = dict(re.findall(r'<input type="text" inputmode="decimal" id="[^"]+" name="([^"]+)" value="([^"]*)"', html))
    return fields | {"csrf_token": csrf_from(html)}


def test_staff_see_the_versions_and_a_grid(session, admin_client):
    index = admin_client.get("/tariffs/").get_data(as_text=True)
    health = _version(session, Cover.health)
    assert health.ref in index and "in force" in index
    grid = admin_client.get(f"/tariffs/versions/{health.public_id}").get_data(as_text=True)
    premium = tariff_in_force(session, Cover.health, utcnow().date()).grid.formulas[0].premiums
    some = next(iter(premium.values()))
    assert f"{some / 100:.2f}" in grid and "Hospital stays" in grid


def test_a_new_version_takes_effect_from_a_date_with_the_premiums_typed(session, admin_client):
    base = _version(session, Cover.health)
    html = admin_client.get(f"/tariffs/versions/{base.public_id}/new").get_data(as_text=True)
    data = _form(html)
    assert data["formulas.0.premiums.1.volunteer"] and data["minimum_term_months"] == "12"
    start = utcnow().date() + timedelta(days=10)
    data |= {"formulas.0.premiums.1.volunteer": "23,40", "waiting_periods.dental": "", "notes": "2027 prices",
             "effective_from": start.isoformat()}
    response = admin_client.post(f"/tariffs/versions/{base.public_id}/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    tariff = tariff_in_force(session, Cover.health, start)
    assert tariff.ref == f"health-{start.isoformat()}-1"
    formula = tariff.grid.formulas[0]
    assert formula.premiums[(1, next(iter(formula.premiums))[1])] == 2340
    assert not any(g.value == "dental" for g in tariff.grid.waiting_periods)
    assert tariff_in_force(session, Cover.health, utcnow().date()).ref == base.ref
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "tariff.version_added")).one()
    assert event.details()["based_on"] == base.ref


def test_bad_values_are_shown_under_their_inputs_and_nothing_is_written(session, admin_client):
    base = _version(session, Cover.health)
    url = f"/tariffs/versions/{base.public_id}/new"
    data = _form(admin_client.get(url).get_data(as_text=True))
    before = session.scalar(select(func.count()).select_from(TariffVersion))
    typed = dict(data, effective_from=utcnow().date().isoformat())
    typed |= {"formulas.0.premiums.2.child": "lots", "minimum_term_months": "99", "formulas.0.premiums.3.spouse": ""}
    page = admin_client.post(url, data=typed)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="formulas.0.premiums.2.child-err">Enter a monthly amount in euros, such as 19.50.' in html
    assert 'value="lots"' in html
    # the domain's own checks, by path, once the inputs themselves read
    typed["formulas.0.premiums.2.child"] = "10"
    html = admin_client.post(url, data=typed).get_data(as_text=True)
    assert 'id="minimum_term_months-err">Give a whole number in the allowed range.' in html
    assert 'id="formulas.0.premiums.3.spouse-err">Required.' in html
    past = dict(data, effective_from=(utcnow().date() - timedelta(days=1)).isoformat())
    html = admin_client.post(url, data=past).get_data(as_text=True)
    assert "A new version takes effect today or later" in html
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(TariffVersion)) == before


def test_the_zone_table_is_reviewed_from_a_date(session, admin_client):
    page = admin_client.get("/tariffs/zones").get_data(as_text=True)
    assert "last reviewed on" in page
    start = utcnow().date() + timedelta(days=1)
    table = zones_in_force(session, start)
    country = next(iter(table.by_country))
    moved = 1 if table.by_country[country] != 1 else 2
    response = admin_client.post("/tariffs/zones", data={
        "csrf_token": csrf_from(page), "effective_from": start.isoformat(), "reviewed_on": utcnow().date().isoformat(),
        "changes": f"{country.lower()} {moved}\n\nIS -\n", "notes": "yearly review"})
    assert response.status_code == 302
    after = zones_in_force(session, start)
    assert after.by_country[country] == moved and "IS" not in after.by_country
    assert after.reviewed_on == utcnow().date()
    assert zones_in_force(session, utcnow().date()).ref == table.ref


def test_bad_zone_lines_are_named_and_nothing_is_written(session, admin_client):
    page = admin_client.get("/tariffs/zones").get_data(as_text=True)
    before = session.scalar(select(func.count()).select_from(ZoneTable))
    for changes, message in (("US 4", "Line 1: write a country code and a zone 1, 2 or 3"),
                             ("US 1\nQQ 2", "Line 2: QQ is not an ISO country code.")):
        response = admin_client.post("/tariffs/zones", data={
            "csrf_token": csrf_from(page), "effective_from": utcnow().date().isoformat(),
            "reviewed_on": utcnow().date().isoformat(), "changes": changes})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = admin_client.post("/tariffs/zones", data={
        "csrf_token": csrf_from(page), "effective_from": (utcnow().date() - timedelta(days=3)).isoformat(),
        "reviewed_on": utcnow().date().isoformat(), "changes": "US 1"})
    assert response.status_code == 422 and "A new version takes effect today or later" in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ZoneTable)) == before
