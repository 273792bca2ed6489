"""The bordereau on finance's screen and from the command line: the month picker and insurer, the figures shown,
the CSV and XLSX downloads with headers in the reader's language (French here), the same file from
`flask funnel bordereau`; partners and account managers are refused."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from core.accounts import Role
from funnel.bordereau import bordereau
from tests.funnel.premium_books import INSURER, make_issuer, paid_subscription, seal_config


def _books(session, make_user, tmp_path):
    issuer = make_issuer(session, seal_config(tmp_path))
    s = paid_subscription(session, make_user(Role.finance), issuer)
    return s, bordereau(session, INSURER, "2026-12")


def test_finance_reads_and_downloads_the_bordereau_in_its_language(session, make_user, login, tmp_path, broker):
    s, b = _books(session, make_user, tmp_path)
    owed = b.total("owed_minor")
    assert owed > 0
    finance = login(make_user(Role.finance, locale="fr"))
    page = finance.get(f"/finance/bordereau?month=2026-12&insurer={INSURER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"{s.reference}-H" in html and "Télécharger" in html
    assert f"{owed / 100:.2f}".replace(".", ",") in html.replace("\u202f", "").replace("\xa0", "")

    download = finance.get(f"/finance/bordereau?month=2026-12&insurer={INSURER}&format=csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert f"bordereau-{INSURER}-2026-12.csv" in download.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    header = table[0]
    assert "Cotisation encaissée" in header and "Net dû à l'assureur" in header
    assert table[-1][header.index("Net dû à l'assureur")] == f"{owed / 100:.2f}"
    xlsx = finance.get(f"/finance/bordereau?month=2026-12&insurer={INSURER}&format=xlsx")
    assert list(load_workbook(io.BytesIO(xlsx.data)).active.values)[0] == tuple(header)
    assert finance.get(f"/finance/bordereau?month=2026-12&insurer={INSURER}&format=pdf").status_code == 404

    for role in (Role.account_manager,):
        assert login(make_user(role)).get("/finance/bordereau").status_code == 403
    assert login(broker).get("/finance/bordereau").status_code == 403


def test_the_command_writes_the_same_file(app, session, make_user, tmp_path):
    _s, b = _books(session, make_user, tmp_path)
    out = tmp_path / "b.csv"
    result = app.test_cli_runner().invoke(args=["funnel", "bordereau", "2026-12", "--insurer", INSURER,
                                                "--format", "csv", "--language", "fr", "--output", str(out)])
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert table[0][0] == "Rubrique" and table[-1][table[0].index("Net dû à l'assureur")] == \
        f"{b.total('owed_minor') / 100:.2f}"
    xlsx = app.test_cli_runner().invoke(args=["funnel", "bordereau", "2026-12", "--insurer", INSURER,
                                              "--format", "xlsx", "--output", str(tmp_path / "b.xlsx")])
    assert xlsx.exit_code == 0 and list(load_workbook(tmp_path / "b.xlsx").active.values)[0][0] == "Section"
    unknown = app.test_cli_runner().invoke(args=["funnel", "bordereau", "2026-12", "--insurer", "NOBODY"])
    assert unknown.exit_code != 0 and "no insurer" in unknown.output
    bad = app.test_cli_runner().invoke(args=["funnel", "bordereau", "December", "--insurer", INSURER])
    assert bad.exit_code != 0
