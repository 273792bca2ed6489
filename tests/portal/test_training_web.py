"""The training register through the portal: a partner admin records and lists their own firm's people (a member
sees their own record), compliance and admins read coverage per firm and person with a CSV export, finance sees
none of it; evidence files are limited; alerts go out once through a real SMTP server; the policy switch hides
"Submit a case" and refuses the submission."""
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from compliance import training
from core.accounts import PartnerStatus, Role
from core.outbox import OutboxMessage
from pipeline.cases.models import Case
from tests.conftest import csrf_from
from tests.portal.test_cases_web import case_form

TODAY = training.today_utc()
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def veteran(session, user):
    """In post since 2020: owes the whole of last year's 15 hours."""
    user.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    session.commit()
    return user


@pytest.fixture
def firm_people(session, make_org, make_user):
    org = make_org(PartnerStatus.specialist_broker, legal_name="Azur Courtage")
    admin = veteran(session, make_user(Role.partner_admin, org, email="claire@azur.example", locale="fr"))
    member = veteran(session, make_user(Role.partner_member, org, email="marc@azur.example"))
    return admin, member


def post_training(client, person, *, evidence=(PDF, "certificat.pdf"), **changes):
    csrf = csrf_from(client.get("/training/new").get_data(as_text=True))
    data = {"csrf_token": csrf, "person": person.public_id, "provider": "Chambre syndicale des courtiers",
            "completed_on": TODAY.isoformat(), "duration_minutes": "420", "format": "classroom",
            "themes": ["regulation", "client_needs"]}
    data.update(changes)
    fields = MultiDict([(k, v) for k, vs in data.items() for v in (vs if isinstance(vs, list) else [vs])])
    if evidence:
        fields.add("evidence", FileStorage(io.BytesIO(evidence[0]), evidence[1]))
    # encoded here, in memory: the test client would spool a large body to a temporary file it never closes
    boundary, body = encode_multipart(fields)
    return client.post("/training/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_partner_admin_records_their_peoples_training_with_evidence(session, login, firm_people):
    admin, member = firm_people
    c = login(admin)
    r = post_training(c, member)
    assert r.status_code == 302 and r.location.endswith("/training/")
    page = c.get("/training/").get_data(as_text=True)
    assert "Chambre syndicale des courtiers" in page and member.full_name in page and "certificat.pdf" in page
    row = session.execute(select(training.TrainingRecord)).scalar_one()
    assert (row.user_id, row.duration_minutes, row.themes) == (member.id, 420, ["regulation", "client_needs"])
    download = c.get(f"/training/records/{row.public_id}/evidence")
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    # the member sees their own record and file, not the firm's other people
    own = login(member)
    mine = own.get("/training/").get_data(as_text=True)
    assert "Chambre syndicale des courtiers" in mine and admin.full_name not in mine
    assert own.get(f"/training/records/{row.public_id}/evidence").status_code == 200
    assert own.get("/training/new").status_code == 403


def test_a_partner_admin_never_reaches_another_firms_people(session, login, firm_people, make_broker):
    admin, member = firm_people
    post_training(login(admin), member)
    row = session.execute(select(training.TrainingRecord)).scalar_one()
    other = login(make_broker())
    page = other.get("/training/").get_data(as_text=True)
    assert member.full_name not in page and "Chambre syndicale" not in page
    assert member.public_id not in other.get("/training/new").get_data(as_text=True)
    assert post_training(other, member).status_code == 422
    assert other.get(f"/training/records/{row.public_id}/evidence").status_code == 404
    assert other.get(f"/training/people/{member.public_id}").status_code == 403
    assert session.execute(select(func.count()).select_from(training.TrainingRecord)).scalar() == 1


@pytest.mark.parametrize("evidence, message", [
    ((b"MZ\x90\x00this is a program", "certificat.pdf"), "Le justificatif doit être un fichier PDF, PNG ou JPEG."),
    ((b"%PDF-" + b"0" * (5 * 1024 * 1024), "huge.pdf"), "Le justificatif dépasse 5 Mo."),
])
def test_evidence_files_are_limited_in_kind_and_size(session, login, firm_people, evidence, message):
    admin, member = firm_people
    r = post_training(login(admin), member, evidence=evidence)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(training.TrainingRecord)).scalar() == 0


def test_bad_input_is_shown_by_field(session, login, firm_people):
    admin, member = firm_people
    r = post_training(login(admin), member, evidence=None, provider="", duration_minutes="0", themes=[],
                      completed_on=date(TODAY.year + 1, 1, 1).isoformat())
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    for message in ("Indiquez l&#39;organisme de formation.", "Indiquez la durée en minutes (de 1 à 6 000).",
                    "Choisissez au moins un thème dans la liste.", "la date est dans le futur"):
        assert message in body


def test_compliance_sees_every_firm_and_filters_those_below_target(session, login, make_user, firm_people,
                                                                   make_org, make_introducer):
    admin, member = firm_people
    covered_org = make_org(PartnerStatus.generalist_broker, legal_name="Bleu Assurances")
    covered = veteran(session, make_user(Role.partner_admin, covered_org))
    introducer = make_introducer()
    officer = make_user(Role.compliance)
    for person in (covered, admin, member):
        training.record_training(session, officer, person, training.TrainingInput(
            "Provider", date(TODAY.year - 1, 6, 1), 900 if person is covered else 300, "webinar", ["ethics"]),
            today=TODAY)
    training.record_training(session, officer, covered, training.TrainingInput(
        "Provider", date(TODAY.year, 1, 5), 900, "webinar", ["ethics"]), today=TODAY)
    session.commit()
    c = login(officer)
    page = c.get("/training/coverage").get_data(as_text=True)
    assert "Azur Courtage" in page and "Bleu Assurances" in page and introducer.full_name not in page
    below = c.get("/training/coverage?below=1").get_data(as_text=True)
    assert "Azur Courtage" in below and "Bleu Assurances" not in below
    previous = c.get(f"/training/coverage?year={TODAY.year - 1}&below=1").get_data(as_text=True)
    assert "Azur Courtage" in previous and "Bleu Assurances" not in previous
    csv = c.get(f"/training/coverage.csv?year={TODAY.year - 1}").get_data(as_text=True)
    assert csv.splitlines()[0].startswith("year,firm,status,person")
    assert f"{TODAY.year - 1},Azur Courtage,specialist_broker,{member.full_name},{member.email},partner_member,5.00," \
        in csv
    assert f"Bleu Assurances,generalist_broker,{covered.full_name}" in csv and introducer.email not in csv
    person = c.get(f"/training/people/{member.public_id}").get_data(as_text=True)
    assert "Provider" in person and member.full_name in person


@pytest.mark.parametrize("role", [Role.finance, Role.account_manager])
def test_finance_and_account_managers_do_not_read_coverage(login, make_user, firm_people, role):
    c = login(make_user(role))
    for url in ("/training/coverage", "/training/coverage.csv", "/training/new", "/training/",
                f"/training/people/{firm_people[1].public_id}"):
        assert c.get(url).status_code == 403, url


def test_introducers_have_no_training_register(login, introducer):
    assert login(introducer).get("/training/").status_code == 403


def test_compliance_records_the_broker_staffs_training(session, login, make_user):
    manager = veteran(session, make_user(Role.account_manager))
    c = login(make_user(Role.compliance))
    r = post_training(c, manager, evidence=None)
    assert r.status_code == 302 and r.location.endswith(f"/training/people/{manager.public_id}")
    assert session.execute(select(training.TrainingRecord.user_id)).scalar_one() == manager.id


def test_alerts_are_mailed_once_to_the_firms_admin_through_smtp(app, session, firm_people, smtp_server,
                                                               monkeypatch):
    admin, member = firm_people
    training.record_training(session, admin, admin, training.TrainingInput(
        "Provider", date(TODAY.year, 1, 10), 900, "webinar", ["ethics"]), today=TODAY)
    session.commit()
    admin_email, admin_name, member_email, member_name = admin.email, admin.full_name, member.email, member.full_name
    runner = app.test_cli_runner()
    on = date(TODAY.year, 9, 30).isoformat()
    first = runner.invoke(args=["compliance", "training", "alerts", "--date", on])
    assert first.exit_code == 0, first.output
    assert "1 new people below" in first.output and member_email in first.output
    again = runner.invoke(args=["compliance", "training", "alerts", "--date", on])
    assert again.exit_code == 0 and "0 new people below" in again.output
    for key, value in {"MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
                       "SMTP_SECURITY": "none"}.items():
        monkeypatch.setitem(app.config, key, value)
    assert runner.invoke(args=["outbox", "work", "--once"]).exit_code == 0
    assert runner.invoke(args=["outbox", "work", "--once"]).exit_code == 0
    assert len(smtp_server.messages) == 1
    rcpts, message = smtp_server.messages[0]
    assert rcpts == [admin_email]
    assert "Azur Courtage" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    assert member_name in body and admin_name + ":" not in body
    assert "15 heures de formation professionnelle" in body  # in the admin's language
    assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 1


def _submit(client):
    csrf = csrf_from(client.get("/cases/new").get_data(as_text=True))
    return client.post("/cases/new", data=case_form(csrf))


def test_the_policy_switch_blocks_a_short_firm_when_on(app, session, login, firm_people, monkeypatch):
    admin, _member = firm_people
    monkeypatch.setitem(app.config, "TRAINING_BLOCKS_CASES", True)
    c = login(admin)
    for url in ("/cases/", "/"):
        page = c.get(url).get_data(as_text=True)
        assert 'href="/cases/new"' not in page, url
        # the admin reads French: why, and where to put it right
        assert "Votre cabinet ne peut pas soumettre de nouveaux dossiers" in page, url
        assert 'href="/training/"' in page
    r = _submit(c)
    assert r.status_code == 422
    assert f"les 15 heures de formation requises pour {TODAY.year - 1}" in r.get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(Case)).scalar() == 0


def test_the_policy_switch_off_lets_the_same_firm_submit(app, session, login, firm_people):
    admin, _member = firm_people
    assert app.config["TRAINING_BLOCKS_CASES"] is False
    c = login(admin)
    assert 'href="/cases/new"' in c.get("/cases/").get_data(as_text=True)
    assert _submit(c).status_code == 302
    assert session.execute(select(func.count()).select_from(Case)).scalar() == 1


def test_the_api_refuses_a_blocked_firms_case_with_a_machine_readable_error(app, client, session, firm_people,
                                                                            bearer, monkeypatch):
    from tests.portal.test_cases import CASE

    admin, _member = firm_people
    headers = bearer(admin)
    monkeypatch.setitem(app.config, "TRAINING_BLOCKS_CASES", True)
    r = client.post("/api/v1/cases", json=CASE, headers=headers)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "training_shortfall"
    monkeypatch.setitem(app.config, "TRAINING_BLOCKS_CASES", False)
    assert client.post("/api/v1/cases", json=CASE, headers=headers).status_code == 201
