"""The audit log as compliance reads it: who did what to which named record, filters, pages, the CSV export, the
chain verified from the page, a record's history; compliance and administrators only, nobody else."""
import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from core import audit
from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from portal.accounts import operations as ops
from portal.security.access import access_for
from tests.conftest import csrf_from
from tests.dbtools import audit_triggers_suspended

READERS = {Role.compliance, Role.admin}


def _org_created(session, admin, name="Courtage Lumière"):
    org = ops.create_organisation(session, admin, "10.0.0.9", legal_name=name, status=PartnerStatus.introducer,
                                  register=None, registration_number=None, country="FR", zones=["FR"],
                                  communication_model="hybrid", languages=["fr"])
    session.commit()
    return org


def _events(session, n, user, action="user.role_changed"):
    for i in range(n):
        audit.record(session, action, actor=user, subject=user, step=i)
    session.commit()


def _table(html: str) -> str:
    return html.split("<tbody>")[1].split("</tbody>")[0]


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="event-(\d+)"', html)


# --- who may read it ------------------------------------------------------------------------------------------

def test_only_compliance_and_admins_may_use_any_audit_page(app):
    endpoints = [r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert sorted(endpoints) == ["audit.export", "audit.history", "audit.log", "audit.verify"]
    for endpoint in endpoints:
        assert access_for(app, endpoint).roles == frozenset(READERS), endpoint


@pytest.mark.parametrize("role", [Role.admin, Role.compliance, Role.finance, Role.account_manager,
                                  Role.partner_admin, Role.partner_member])
def test_every_other_role_is_refused(role, login, make_user, make_org, session):
    user = make_user(role, make_org() if role in (Role.partner_admin, Role.partner_member) else None)
    c = login(user)
    token = csrf_from(c.get("/profile").get_data(as_text=True)) if role not in READERS else None
    pages = ["/audit/", "/audit/export.csv", f"/audit/history/{user.public_id}?kind=users", "/admin/audit"]
    for url in pages:
        status = c.get(url).status_code
        if role in READERS:
            assert status in (200, 302), url
        else:
            assert status == 403, url
    if role in READERS:
        assert c.post("/audit/verify", data={"csrf_token": csrf_from(c.get("/audit/").get_data(as_text=True))}
                      ).status_code == 200
    else:
        assert c.post("/audit/verify", data={"csrf_token": token}).status_code == 403
        home = c.get("/").get_data(as_text=True)
        assert 'href="/audit/' not in home


def test_the_old_address_leads_to_the_new_page(login, make_user):
    r = login(make_user(Role.compliance)).get("/admin/audit?action=auth.login_failed")
    assert r.status_code == 302 and r.location.endswith("/audit/?action=auth.login_failed")


# --- what a row says --------------------------------------------------------------------------------------------

def test_a_row_says_who_did_what_to_which_named_record(login, make_user, session):
    admin = make_user(Role.admin)
    org = _org_created(session, admin)
    html = login(make_user(Role.compliance)).get("/audit/").get_data(as_text=True)
    assert "Partner firm created" in html                       # the action's label, not "organisation.created"
    assert "Courtage Lumière" in html                           # the firm by its name, not its id
    assert f"{admin.full_name} ({admin.email})" in html         # the actor by name
    assert f'/audit/history/{org.public_id}?kind=organisations' in html
    assert "organisation.created" not in _table(html).replace('action=organisation.created', "")
    assert "{&#34;" not in html and '{"' not in html            # no raw JSON
    assert "<dt>legal name</dt><dd>Courtage Lumière</dd>" in html


def test_details_name_the_records_they_point_to_and_withhold_secrets(login, make_user, make_org, session):
    admin = make_user(Role.admin)
    org = make_org(legal_name="Assurances Boréales")
    audit.record(session, "user.created", actor=admin, subject=admin, organisation=org.public_id,
                 password="hunter2-secret", iban="FR7630006000011234567890189")
    session.commit()
    html = login(make_user(Role.compliance)).get("/audit/").get_data(as_text=True)
    assert "<dt>Partner firm</dt><dd>Assurances Boréales</dd>" in html
    assert "hunter2" not in html and "(withheld)" in html
    assert "FR763000600001123456789" not in html and "•••• 0189" in html


def test_the_labels_are_in_the_reader_s_language(login, make_user, session):
    _org_created(session, make_user(Role.admin))
    html = login(make_user(Role.compliance, locale="fr")).get("/audit/").get_data(as_text=True)
    assert "Cabinet partenaire créé" in html


# --- filters -----------------------------------------------------------------------------------------------------

def test_filters_by_action_actor_kind_and_dates(login, make_user, session):
    admin, other = make_user(Role.admin), make_user(Role.admin)
    org = _org_created(session, admin)
    _events(session, 2, other)
    c = login(make_user(Role.compliance))
    by_action = _table(c.get("/audit/?action=organisation.created").get_data(as_text=True))
    assert "Courtage Lumière" in by_action and "User role changed" not in by_action
    by_actor = _table(c.get(f"/audit/?actor={other.email}").get_data(as_text=True))
    assert len(_rows(by_actor)) == 2 and "Partner firm created" not in by_actor
    assert len(_rows(c.get(f"/audit/?actor={other.public_id}").get_data(as_text=True))) == 2
    by_kind = _table(c.get("/audit/?kind=organisations").get_data(as_text=True))
    assert _rows(by_kind) and "User role changed" not in by_kind
    by_subject = c.get(f"/audit/?kind=organisations&subject={org.public_id}").get_data(as_text=True)
    assert "Events about Courtage Lumière." in by_subject
    today = datetime.now(UTC).date()
    everything = len(_rows(c.get("/audit/").get_data(as_text=True)))
    assert len(_rows(c.get(f"/audit/?from={today}&to={today}").get_data(as_text=True))) == everything
    assert _rows(c.get(f"/audit/?to={today - timedelta(days=1)}").get_data(as_text=True)) == []
    assert _rows(c.get(f"/audit/?from={today + timedelta(days=1)}").get_data(as_text=True)) == []
    bad = c.get("/audit/?from=31/12/2026").get_data(as_text=True)
    assert "Dates are written YYYY-MM-DD." in bad


def test_dates_are_days_in_utc_and_both_ends_count(login, make_user, session):
    user = make_user(Role.admin)
    _events(session, 4, user)
    conn = session.connection()
    with audit_triggers_suspended(conn):  # three events on three days, as if recorded then
        for seq, day in ((2, "2026-01-10"), (3, "2026-01-11"), (4, "2026-01-12")):
            conn.execute(text("UPDATE audit_events SET occurred_at = :at WHERE seq = :seq"),
                         {"at": datetime.fromisoformat(f"{day}T23:59:00+00:00"), "seq": seq})
        conn.execute(text("UPDATE audit_events SET occurred_at = :at WHERE seq = 1"),
                     {"at": datetime.fromisoformat("2026-01-09T08:00:00+00:00")})
    session.commit()
    c = login(make_user(Role.compliance))
    assert _rows(c.get("/audit/?from=2026-01-10&to=2026-01-11").get_data(as_text=True)) == ["3", "2"]
    assert _rows(c.get("/audit/?from=2026-01-12&to=2026-01-12").get_data(as_text=True)) == ["4"]


# --- pages ------------------------------------------------------------------------------------------------------

def test_pages_go_back_in_time_and_forward_again(login, make_user, session):
    user = make_user(Role.admin)
    _events(session, 120, user)
    c = login(make_user(Role.compliance))
    first = c.get(f"/audit/?actor={user.email}").get_data(as_text=True)
    assert _rows(first) == [str(s) for s in range(120, 70, -1)] and "Newer events" not in first
    older = re.search(r'href="([^"]*before=\d+[^"]*)">Older events', first).group(1).replace("&amp;", "&")
    second = c.get(older).get_data(as_text=True)
    assert _rows(second) == [str(s) for s in range(70, 20, -1)]
    third = c.get(re.search(r'href="([^"]*before=\d+[^"]*)">Older', second).group(1).replace("&amp;", "&")
                  ).get_data(as_text=True)
    assert _rows(third) == [str(s) for s in range(20, 0, -1)] and "Older events" not in third
    back = c.get(re.search(r'href="([^"]*after=\d+[^"]*)">Newer', third).group(1).replace("&amp;", "&")
                 ).get_data(as_text=True)
    assert _rows(back) == _rows(second)
    assert c.get("/audit/?before=x").status_code == 400
    assert c.get(f"/audit/?after={10 ** 30}").status_code == 400


# --- the export ----------------------------------------------------------------------------------------------------

def test_the_csv_export_holds_the_filtered_rows_with_iso_dates(login, make_user, session):
    admin = make_user(Role.admin)
    _org_created(session, admin, name="=HYPERLINK(\"http://evil\")")
    _events(session, 3, admin)
    r = login(make_user(Role.compliance)).get("/audit/export.csv?kind=organisations")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["organisation.created"]
    (row,) = rows
    assert row["action_label"] == "Partner firm created"
    assert datetime.fromisoformat(row["occurred_at"]).tzinfo is not None
    assert row["subject_name"] == "'=HYPERLINK(\"http://evil\")"       # never a live formula
    assert row["actor"] == admin.email and row["actor_name"] == f"{admin.full_name} ({admin.email})"
    assert "legal name: " in row["details"]
    everything = list(csv.DictReader(io.StringIO(
        login(make_user(Role.admin)).get("/audit/export.csv").get_data(as_text=True))))
    assert [int(r["seq"]) for r in everything] == sorted((int(r["seq"]) for r in everything), reverse=True)
    assert len(everything) == len(session.execute(select(AuditEvent.seq)).all())


# --- the chain ---------------------------------------------------------------------------------------------------

def _verify(c):
    return c.post("/audit/verify", data={"csrf_token": csrf_from(c.get("/audit/").get_data(as_text=True))})


def test_verify_says_the_log_is_intact(login, make_user, session):
    _events(session, 5, make_user(Role.admin))
    r = _verify(login(make_user(Role.compliance)))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "The audit log is intact" in html


def test_verify_names_the_first_tampered_event(app, login, make_user, session):
    _events(session, 5, make_user(Role.admin))
    c = login(make_user(Role.compliance))
    conn = session.connection()
    with audit_triggers_suspended(conn):
        conn.execute(text("UPDATE audit_events SET data = :data WHERE seq = 3"), {"data": '{"step":99}'})
    session.commit()
    html = _verify(c).get_data(as_text=True)
    assert "The audit log is not intact" in html
    assert "First problem found: <strong>event 3: content was modified after it was recorded</strong>" in html


def test_verify_without_csrf_is_refused(login, make_user):
    assert login(make_user(Role.compliance)).post("/audit/verify").status_code == 400


# --- a record's history ------------------------------------------------------------------------------------------

def test_a_person_s_history_holds_what_was_done_to_them_and_what_they_did(login, make_user, session):
    admin = make_user(Role.admin)
    person = make_user(Role.account_manager)
    ops.update_user(session, admin, person, role=Role.compliance)
    session.commit()
    _org_created(session, person, name="Firme Personne")
    audit.record(session, "user.role_changed", actor=admin, subject=admin)  # someone else's: not in it
    session.commit()
    c = login(make_user(Role.compliance))
    html = c.get(f"/audit/history/{person.public_id}?kind=users").get_data(as_text=True)
    assert f"History of {person.full_name}" in html
    assert "User role changed" in html and "Firme Personne" in html
    assert len(_rows(html)) == 2
    assert c.get(f"/audit/history/{'0' * 32}?kind=users").status_code == 404
    assert c.get(f"/audit/history/{person.public_id}?kind=nonsense").status_code == 404


def test_the_history_opens_from_the_row_and_from_the_record_pages(login, make_user, session):
    admin = make_user(Role.admin)
    org = _org_created(session, admin)
    c = login(admin)
    url = f"/audit/history/{org.public_id}?kind=organisations"
    assert url in c.get("/audit/").get_data(as_text=True)
    assert url.replace("?", "?") in c.get(f"/admin/organisations/{org.public_id}").get_data(as_text=True).replace("&amp;", "&")
    assert f"/audit/history/{admin.public_id}?kind=users" in c.get(f"/admin/users/{admin.public_id}").get_data(as_text=True)
    html = c.get(url).get_data(as_text=True)
    assert "History of Courtage Lumière" in html and "Partner firm created" in html


def test_a_case_s_history_from_its_page(login, make_user, make_broker, new_case, session):
    case = new_case(make_broker())
    compliance = make_user(Role.compliance)
    c = login(compliance)
    url = f"/audit/history/{case.public_id}?kind=cases"
    assert url in c.get(f"/cases/{case.public_id}").get_data(as_text=True)
    html = c.get(url).get_data(as_text=True)
    assert "Case submitted" in html and f"History of {case.client_first_name}" in html


def test_no_audit_record_names_a_secret_or_health_detail():
    """The details the code records never carry a password, a token, a signature code or health information
    (the page would withhold them; the log should not hold them in the first place)."""
    import ast
    from pathlib import Path

    from portal.audit.present import _withheld
    from tests.core.test_audit_labels import PACKAGES, ROOT, _is_audit_record

    keys = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and _is_audit_record(node):
                    keys.update(k.arg for k in node.keywords if k.arg)
    assert {"reason", "email", "typed_name", "categories"} <= keys
    assert sorted(k for k in keys if _withheld(k)) == []
