"""Administrators and finance keep the list of insurers that contracts are placed with."""
from sqlalchemy import select

from core.accounts import Role
from core.contracts import Insurer
from tests.conftest import csrf_from


def _add(c, **data):
    token = csrf_from(c.get("/admin/insurers").get_data(as_text=True))
    return c.post("/admin/insurers", data={**data, "csrf_token": token})


def test_finance_adds_an_insurer_and_it_is_offered_when_placing(login, make_user, session):
    c = login(make_user(Role.finance))
    r = _add(c, name="Allianz Care", code="Allianz-Care")
    assert r.status_code == 302
    insurer = session.execute(select(Insurer)).scalar_one()
    assert (insurer.code, insurer.name, insurer.active) == ("allianz-care", "Allianz Care", True)
    assert "Allianz Care" in c.get("/admin/insurers").get_data(as_text=True)


def test_a_duplicate_or_malformed_code_is_refused_and_nothing_is_added(login, make_user, session):
    c = login(make_user(Role.admin))
    assert _add(c, name="Bupa Global", code="bupa").status_code == 302
    r = _add(c, name="Bupa again", code="BUPA")
    assert r.status_code == 422 and "already used" in r.get_data(as_text=True)
    assert _add(c, name="Cigna", code="cigna global!").status_code == 422
    assert len(session.execute(select(Insurer)).scalars().all()) == 1


def test_deactivating_keeps_the_insurer_but_it_is_no_longer_active(login, make_user, session):
    c = login(make_user(Role.admin))
    _add(c, name="MSH International", code="msh")
    insurer = session.execute(select(Insurer)).scalar_one()
    token = csrf_from(c.get("/admin/insurers").get_data(as_text=True))
    assert c.post(f"/admin/insurers/{insurer.public_id}/active", data={"csrf_token": token}).status_code == 302
    session.expire_all()
    assert session.execute(select(Insurer)).scalar_one().active is False


def test_partners_and_account_managers_cannot_manage_insurers(login, make_user, make_org):
    for user in (make_user(Role.partner_admin, make_org()), make_user(Role.account_manager)):
        assert login(user).get("/admin/insurers").status_code == 403
