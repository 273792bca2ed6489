"""The staff's roster screens and command: a CSV file imported from the command line or uploaded, with the same
semantics as the API (line by line results), and the import history with each delivery's rejected lines."""
import io

import pytest
from sqlalchemy import func, select

from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from funnel.models import RosterEvent, RosterImport, Volunteer
from funnel.volunteers import find_volunteer
from tests.conftest import csrf_from

HEADER = ("event,event_id,occurred_at,file_ref,first_name,last_name,email,birth_date,programme,mission_country,"
          "mission_start,mission_end,language,dependants,end_date,reason")


def _line(n, **changes) -> str:
    row = {"event": "affiliation", "event_id": f"CSV-{n}-1", "occurred_at": "2026-11-02T08:00:00Z",
           "file_ref": f"CSV-{n}", "first_name": "Léa", "last_name": "Martin", "email": f"lea.{n}@example.org",
           "birth_date": "2000-04-02", "programme": "VIE", "mission_country": "US", "mission_start": "2026-11-03",
           "mission_end": "2027-10-31", "language": "fr", "dependants": "", "end_date": "", "reason": ""}
    row.update(changes)
    return ",".join(row[name] for name in HEADER.split(","))


def _csv(*lines, delimiter=",", bom=False) -> bytes:
    text = "\n".join([HEADER, *lines]) + "\n"
    if delimiter != ",":
        text = text.replace(",", delimiter)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


GOOD_FILE = _csv(_line(1, dependants="spouse:1999-07-14|child:2024-03-01:Noé:Martin"),
                 _line(2, mission_country="XY"),
                 "",
                 _line(3),
                 "radiation,CSV-1-2,2026-11-20T08:00:00Z,CSV-1,,,,,,,,,,,2027-03-31,")


def test_the_command_imports_a_file_line_by_line_and_exits_1_when_lines_are_rejected(app, session, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(GOOD_FILE)
    result = app.test_cli_runner().invoke(args=["funnel", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "4 lines: 2 created, 1 updated, 0 unchanged, 1 rejected" in result.stdout
    assert "line 3: CSV-2-1: mission_country: Unknown country code" in result.stderr
    volunteer = find_volunteer(session, file_ref="CSV-1")
    assert str(volunteer.mission_end) == "2027-03-31" and volunteer.state.value == "radiated"
    assert [(d.category.value, d.first_name) for d in volunteer.current_dependants] == [("spouse", None),
                                                                                          ("child", "Noé")]
    logged = session.scalars(select(RosterEvent).order_by(RosterEvent.position)).all()
    assert [(e.position, e.outcome.value) for e in logged] == [(2, "created"), (3, "rejected"), (5, "created"),
                                                               (6, "updated")]
    # a second run: every line already applied (the rejected one is rejected again), exit 1 still
    again = app.test_cli_runner().invoke(args=["funnel", "import", str(path)])
    assert "0 created, 0 updated, 0 unchanged, 1 rejected, 3 already applied" in again.stdout
    path.write_bytes(_csv(_line(4)))
    assert app.test_cli_runner().invoke(args=["funnel", "import", str(path)]).exit_code == 0


def test_the_command_refuses_a_file_it_cannot_read_and_writes_nothing(app, session, tmp_path):
    for content in (b"\xff\xfe garbage", b"", HEADER.replace("file_ref", "fileref").encode() + b"\n",
                    (HEADER + "\n").encode(), b"event,event_id\nx,y\n"):
        path = tmp_path / "bad.csv"
        path.write_bytes(content)
        result = app.test_cli_runner().invoke(args=["funnel", "import", str(path)])
        assert result.exit_code == 1 and "bad.csv: " in result.output, result.output
    assert _count(session, RosterImport) == 0 and _count(session, Volunteer) == 0


@pytest.mark.parametrize("delimiter,bom", [(";", True), (",", False), (";", False)])
def test_staff_upload_a_file_and_see_its_summary_and_rejected_lines(delimiter, bom, session, make_user, login):
    admin = make_user(Role.admin)
    c = login(admin)
    token = csrf_from(c.get("/roster/imports").get_data(as_text=True))
    response = c.post("/roster/imports", data={"csrf_token": token, "file": (io.BytesIO(
        _csv(_line(1), _line(2, mission_country="XY", email="nope"), delimiter=delimiter, bom=bom)), "roster.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    page = c.get(response.location).get_data(as_text=True)
    assert "Roster imported: 1 created, 0 updated, 0 unchanged, 1 rejected." in page
    rejected = c.get(response.location + "?outcome=rejected").get_data(as_text=True)
    assert "CSV-2-1" in rejected and "CSV-1-1" not in rejected and "Give a valid e-mail address." in rejected
    history = c.get("/roster/imports").get_data(as_text=True)
    assert "roster.csv" in history and admin.email in history
    imported = session.scalars(select(RosterImport)).one()
    assert (imported.actor_id, imported.filename, imported.created, imported.rejected) == (admin.id, "roster.csv",
                                                                                            1, 1)
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.imported")).one().actor_id == admin.id


def test_an_unreadable_upload_is_shown_under_the_field_and_writes_nothing(session, make_user, login):
    c = login(make_user(Role.admin))
    token = csrf_from(c.get("/roster/imports").get_data(as_text=True))
    for content, message in ((b"\xff\xfe", "The file is not UTF-8 text"),
                             (b"event,event_id,occurred_at,file_ref,nickname\n", "Unknown columns: nickname"),
                             (HEADER.encode(), "The file has no records")):
        response = c.post("/roster/imports", data={"csrf_token": token, "file": (io.BytesIO(content), "r.csv")},
                          content_type="multipart/form-data")
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = c.post("/roster/imports", data={"csrf_token": token, "file": (io.BytesIO(b"x"), "r.pdf")},
                      content_type="multipart/form-data")
    assert response.status_code == 422 and "Only CSV files can be imported." in response.get_data(as_text=True)
    assert _count(session, RosterImport) == 0


def test_the_history_shows_the_operator_batches_too(session, make_user, login, bearer, client):
    from tests.funnel.conftest import affiliation_record

    headers = bearer(make_user(Role.programme_operator))
    client.post("/api/v1/volunteers/batch", json={"events": [affiliation_record(), {"event": "x"}]}, headers=headers)
    c = login(make_user(Role.admin))
    imported = session.scalars(select(RosterImport)).one()
    page = c.get(f"/roster/imports/{imported.public_id}").get_data(as_text=True)
    assert "API" in page and "Unknown event" in page
    assert c.get(f"/roster/imports/{imported.public_id}?outcome=bogus").status_code == 400


@pytest.mark.parametrize("role,status", [(Role.compliance, None), (Role.finance, None), (Role.account_manager, None),
                                         (Role.volunteer, None), (Role.partner_admin, PartnerStatus.introducer)])
def test_only_administrators_open_the_roster_and_tariff_screens(role, status, make_user, make_org, login):
    c = login(make_user(role, make_org(status) if status else None))
    for url in ("/roster/imports", "/tariffs/", "/tariffs/zones"):
        assert c.get(url).status_code == 403, url
