"""The programme's KPIs on the web: the staff dashboard and its filters, the programme's read-only view (aggregates
only: no name, e-mail or payment data; no group under 5), the monthly report in three formats with the page's
figures, and the programme viewer let into nothing else."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.accounts import Role
from core.db import utcnow
from funnel.catalogue import Cover
from funnel.dates import add_months
from funnel.models import FunnelStage
from funnel.roster import apply_events
from funnel.tracking import record_funnel_event
from funnel.volunteers import find_volunteer
from portal.accounts.errors import WebOnlyAccount
from portal.accounts.operations import create_api_token
from tests.conftest import csrf_from
from tests.portal.test_access import _walk_web

NAME, SURNAME = "Zébulon", "Quetzalcoatlova"
#: what the programme viewer may open: their dashboard and its report (the home page sends them there; sign-out)
VIEWER_PAGES = {"home.index", "auth.logout", "programme.view", "programme.monthly_report"}


def _last_month():
    return add_months(utcnow().date().replace(day=1), -1)


@pytest.fixture
def world(session):
    """13 volunteers invited last month: 9 in Germany (zone per the sample table) and 4 in the US; 7 of the 9
    quoted, 2 of the US ones."""
    from funnel.seed import seed_sample_products

    seed_sample_products(session)
    month = _last_month()
    people = []
    for n in range(13):
        country = "DE" if n < 9 else "US"
        record = {"event": "affiliation", "event_id": f"PV-{n:04d}-1", "occurred_at": "2026-01-02T08:00:00Z",
                  "file_ref": f"PV-{n:04d}", "first_name": NAME, "last_name": f"{SURNAME}{n}",
                  "email": f"zebulon.quetzal{n}@example.org", "birth_date": "2000-04-02", "programme": "VIE",
                  "mission_country": country, "mission_start": (month - timedelta(days=5)).isoformat(),
                  "mission_end": (month + timedelta(days=360)).isoformat(), "language": "fr"}
        assert apply_events(session, [record], now=datetime(2026, 1, 3, tzinfo=UTC)).results[0].outcome.value == \
            "created"
        v = find_volunteer(session, file_ref=record["file_ref"])
        at = datetime(month.year, month.month, 6, 9, tzinfo=UTC)
        record_funnel_event(session, v, FunnelStage.invited, campaign_step="d10-top-up", at=at)
        if n < 7 or n in (9, 10):
            record_funnel_event(session, v, FunnelStage.quoted, cover=Cover.health, zone=1, at=at + timedelta(days=1))
        people.append(v)
    session.commit()
    return people


def _cells(html: str, key: str) -> list[list[str]]:
    section = html.split(f'id="kpi-{key}"')[1].split("</section>")[0]
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", section)][1:]


def test_staff_read_every_figure_with_filters(world, make_user, login):
    web = login(make_user(Role.account_manager))
    html = web.get("/programme/kpis").get_data(as_text=True)
    assert 'id="chart-kpi-funnel"' in html and "Subscriptions per month against the baseline" in html
    total = _cells(html, "funnel_by_zone")[-1]
    assert total[0] == "Total" and total[1] == "13" and total[4] == "9"  # invited, quoted (raw: staff see all)
    us = web.get("/programme/kpis?country=US").get_data(as_text=True)
    assert _cells(us, "funnel_by_zone")[-1][1] == "4"
    bad = web.get("/programme/kpis?first=13-2026&zone=9")
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "Enter a month as YYYY-MM." in page and "Choose a zone from the list." in page


def test_the_programme_viewer_sees_aggregates_only(world, make_user, login):
    viewer = make_user(Role.programme_viewer)
    web = login(viewer)
    home = web.get("/")
    assert home.status_code == 200 and 'id="kpi-funnel_by_zone"' in home.get_data(as_text=True)
    month = _last_month().strftime("%Y-%m")
    pages = {"view": web.get("/programme/").get_data(as_text=True),
             "month": web.get(f"/programme/?month={month}").get_data(as_text=True)}
    html = pages["view"]
    total = _cells(html, "funnel_by_zone")[-1]
    assert total[1] == "13" and total[4] == "9"
    # the US row: 4 invited, 2 quoted: small groups, shown as "< 5"; Germany's 9 then withheld too ("·"),
    # so that 13 − 9 cannot give the US back
    countries = {row[0]: row[1:] for row in _cells(html, "funnel_by_country")}
    us = next(v for k, v in countries.items() if "United States" in k)
    assert us[0] == "&lt; 5" and us[3] == "&lt; 5"
    for fmt in ("csv", "xlsx", "pdf"):
        response = web.get(f"/programme/report?month={month}&format={fmt}")
        assert response.status_code == 200
        pages[fmt] = _text(response.data, fmt)
    for name, text in pages.items():
        for v in world:
            assert v.last_name not in text and v.email not in text and NAME not in text, name
        assert "@example.org" not in text and "IBAN" not in text, name
    # the report carries the page's figures
    assert "13" in pages["pdf"] and "< 5" in pages["pdf"] and "< 5" in pages["csv"]


def _text(data: bytes, fmt: str) -> str:
    if fmt == "pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data)).active
        return "\n".join(" | ".join("" if c is None else str(c) for c in row) for row in sheet.iter_rows(values_only=True))
    return data.decode("utf-8-sig")


def test_the_xlsx_holds_the_figures_of_the_programme_view(world, make_user, login):
    from openpyxl import load_workbook

    web = login(make_user(Role.programme_viewer))
    month = _last_month().strftime("%Y-%m")
    html = web.get(f"/programme/?month={month}").get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(web.get(f"/programme/report?month={month}&format=xlsx").data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] == "Funnel by zone")
    total = next(r for r in rows[start:] if r[0] == "Total")
    page_total = _cells(html, "funnel_by_zone")[-1]
    assert [str(c) for c in total[1:len(page_total)]] == [c.replace("&lt;", "<") for c in page_total[1:]]


def test_the_programme_viewer_is_let_into_nothing_else(app, session, world, make_user, login, client):
    viewer = make_user(Role.programme_viewer)
    web = _walk_web(app, viewer, login(viewer))
    assert {endpoint for endpoint, let_in in web.items() if let_in} == VIEWER_PAGES
    # no API token for the programme's people, and one made behind the portal's back is not honoured
    with pytest.raises(WebOnlyAccount):
        create_api_token(session, viewer, "nope")
    session.rollback()
    from portal.accounts.models import ApiToken, hash_token

    raw = "ppt_" + "x" * 40
    session.add(ApiToken(user=viewer, name="forged", prefix=raw[:10], token_hash=hash_token(raw),
                         expires_at=utcnow() + timedelta(days=1)))
    session.commit()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi" and "GET" in rule.methods:
            url = rule.build({arg: "0" * 32 for arg in rule.arguments})[1]
            assert client.get(url, headers={"Authorization": f"Bearer {raw}"}).status_code in (401, 403), url


def test_the_programme_viewer_signs_in_lands_on_the_dashboard_and_signs_out(world, make_user, login):
    web = login(make_user(Role.programme_viewer))
    response = web.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The programme&#39;s dashboard" in page
    nav = page.split('class="mainnav"')[1].split("</nav>")[0]
    assert "Programme dashboard" in nav and "API tokens" not in nav and "Subscriptions" not in nav
    assert web.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert web.get("/programme/").status_code == 302


def test_partners_and_volunteers_cannot_open_the_programme_pages(make_user, make_org, login):
    for user in (make_user(Role.partner_admin, make_org()), make_user(Role.volunteer)):
        web = login(user)
        for url in ("/programme/", "/programme/kpis", "/programme/report?format=csv"):
            assert web.get(url).status_code == 403, url


def test_the_report_command_writes_each_format(app, world, tmp_path):
    runner = app.test_cli_runner()
    month = _last_month().strftime("%Y-%m")
    for fmt in ("pdf", "csv", "xlsx"):
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(args=["funnel", "report", month, "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        text = _text(out.read_bytes(), fmt)
        assert "13" in text and SURNAME not in text
    bad = runner.invoke(args=["funnel", "report", "May", "--out", str(tmp_path / "x.pdf")])
    assert bad.exit_code != 0 and not (tmp_path / "x.pdf").exists()


_ = select
