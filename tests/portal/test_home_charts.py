"""The home pages' charts show the figures as they are now: the manager's funnel and queue ageing (kept between
requests, counted again when a case is created or moved) and the staff case list's count; each chart has its
table behind it."""
import re

from core.accounts import Role
from pipeline.cases.models import CaseStatus
from pipeline.cases.pipeline import claim, move


def _figures(html: str, chart_id: str) -> dict[str, list[str]]:
    figure = html.split(f'id="{chart_id}"')[1].split("</figure>")[0]
    assert 'role="img"' in figure and f'aria-labelledby="{chart_id}-title"' in figure
    return {m[0]: re.findall(r"<td>([^<]*)</td>", m[1])
            for m in re.findall(r'<th scope="row">([^<]+)</th>((?:<td>[^<]*</td>)+)', figure)}


def test_the_manager_funnel_and_ageing_follow_each_new_case_and_move(session, login, make_user, broker, new_case):
    manager = make_user(Role.account_manager)
    client = login(manager)
    first = new_case(broker, first_name="Ann")
    new_case(broker, first_name="Bob")
    funnel = _figures(client.get("/").get_data(as_text=True), "chart-funnel")
    assert funnel["Received"][0] == "2" and funnel["Needs analysis"][0] == "0"

    new_case(broker, first_name="Cy")
    move(session, manager, first, CaseStatus.needs_analysis)
    session.commit()
    html = client.get("/").get_data(as_text=True)
    funnel = _figures(html, "chart-funnel")
    assert funnel["Received"][0] == "3" and funnel["Needs analysis"] == ["1", "33.33%"]
    ageing = _figures(html, "chart-ageing")
    assert ageing["up to 7 days"] == ["3"] and ageing["over 90 days"] == ["0"]


def test_the_staff_case_list_counts_pages_again_after_a_move(session, login, make_user, broker, new_case):
    manager = make_user(Role.account_manager)
    client = login(manager)
    cases = [new_case(broker, first_name=f"Client{i}") for i in range(26)]
    assert "Page 1 of 2" in client.get("/cases/?status=open").get_data(as_text=True)
    move(session, manager, cases[0], CaseStatus.not_pursued)
    session.commit()
    assert "Page 1 of 2" not in client.get("/cases/?status=open").get_data(as_text=True)  # 25 open: one page
    assert "Page 1 of 2" in client.get("/cases/").get_data(as_text=True)


def test_the_workload_follows_a_claim(session, login, make_user, broker, new_case):
    manager = make_user(Role.account_manager)
    client = login(manager)
    case = new_case(broker)
    assert "No open case is assigned." in client.get("/").get_data(as_text=True)
    claim(session, manager, case)
    session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "No open case is assigned." not in html and f"<td>{manager.full_name}</td><td>1</td>" in html


def test_the_partner_commission_chart_follows_each_posting(session, login, broker):
    from core.db import utcnow
    from ledger.chart import open_account
    from ledger.commissions import EXPENSE, held
    from ledger.journal import post
    from ledger.models import AccountType
    from ledger.money import credit, debit

    firm = broker.organisation.public_id
    open_account(session, EXPENSE, AccountType.expense, "EUR")
    open_account(session, held(firm), AccountType.liability, "EUR", owner=f"partner:{firm}")
    client = login(broker)
    assert 'id="chart-commission-eur"' not in client.get("/").get_data(as_text=True)

    today = utcnow().date()
    for n, amount in enumerate((12_345, 10_000)):
        post(session, key=f"placed-{n}", effective_date=today, description="placed", event_kind="contract.placed",
             lines=[debit(EXPENSE, amount, "EUR"), credit(held(firm), amount, "EUR")])
        session.commit()
        month = _figures(client.get("/").get_data(as_text=True), "chart-commission-eur")
        accrued, still_held, paid = list(month.values())[-1]
        assert accrued == still_held == ("€123.45" if n == 0 else "€223.45") and paid == "€0.00", (n, month)


def test_a_chart_has_a_narrow_drawing_with_legible_type_and_fewer_month_names():
    """At phone width the page shows the narrow drawing: scaled to a ~340 px box its text stays at 11 px or more
    (the wide one would shrink it to ~5 px), and a year of months names four of them, the current one included."""
    from portal.charts import NARROW, WIDE, Chart, Series, bars, columns

    months = [f"M{i:02}" for i in range(1, 13)]
    chart = columns(Chart("c", "Title", "Description", months, [Series("paid", list(range(12)))],
                          fmt=lambda v: f"€{v:,}.00"))
    narrow = chart.narrow
    assert chart.geometry is WIDE and narrow.geometry is NARROW and narrow.id == chart.id
    assert NARROW.small * 340 / NARROW.width >= 11 and WIDE.small * 340 / WIDE.width < 6
    assert [name for _x, name in chart.labels] == months
    assert [name for _x, name in narrow.labels] == ["M03", "M06", "M09", "M12"]
    assert narrow.left > len("€11.00") * NARROW.small * 0.6  # the longest tick fits before the plot
    assert all(s.x + s.width <= NARROW.width for s in narrow.shapes)
    assert 'font-size="13"' in narrow.shapes_markup and 'font-size="13"' not in chart.shapes_markup

    funnel = bars(Chart("f", "Funnel", "Description", ["Received", "Underwriting questions"],
                        [Series("Cases", [4, 2])]))
    # narrow: each label on its own line above its bar, the bar from the left edge
    (y0, _l0), (y1, _l1) = funnel.narrow.labels
    assert all(s.x == 0 for s in funnel.narrow.shapes) and y0 < funnel.narrow.shapes[0].y < y1
