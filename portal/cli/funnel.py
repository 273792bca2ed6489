"""The volunteer funnel's commands: the roster CSV import, the integration campaign's run, the monthly report, the
KPIs' summary check and rebuild."""
from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from core.accounts import LANGUAGES
from core.db import utcnow
from core.errors import DomainError
from funnel import campaigns
from funnel.models import Outcome
from funnel.roster_feed import import_roster_csv, read_roster_csv

from ..accounts.operations import find_user_by_email
from ..edge import command_unit_of_work
from ..extensions import db
from ..i18n import tr

#: the exit status when some lines were rejected (the others are applied and saved)
SOME_REJECTED = 1


@click.group("funnel", help="The volunteer top-up cover.")
def cli():
    pass


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by_email", default=None, help="the staff member's e-mail recorded as the importer")
@with_appcontext
def import_command(file: Path, by_email: str | None):
    """Import the roster CSV FILE (the columns of README "Roster feed"): each line is applied as the API applies
    a record, in chunks of 500, and the summary lists the lines rejected with their reasons. Exit status 0 when
    every line applied, 1 when some were rejected (the others are saved) or the file could not be read at all
    (nothing is saved)."""
    actor = None
    if by_email is not None:
        actor = find_user_by_email(db.session, by_email)
        if actor is None or not actor.is_staff:
            raise click.ClickException(f"no staff member with e-mail {by_email}")
    try:
        records = read_roster_csv(file.read_bytes())
    except DomainError as exc:
        raise click.ClickException(f"{file.name}: {tr(exc.message, **exc.params)}") from exc
    with command_unit_of_work(), click.progressbar(length=len(records), label=f"Importing {file.name}",
                                                   file=sys.stderr) as bar:
        result = import_roster_csv(db.session, actor, records, filename=file.name, progress=bar.update)
    imported = result.roster_import
    click.echo(f"{imported.received} lines: {imported.created} created, {imported.updated} updated, "
               f"{imported.unchanged} unchanged, {imported.rejected} rejected, {imported.replayed} already applied")
    for rejected in result.rejected:
        reasons = "; ".join(f"{name}: {tr(p.message)}" for name, problems in rejected.reasons.items()
                            for p in problems)
        click.echo(f"line {rejected.position}: {rejected.event_id or '-'}: {reasons}", err=True)
    raise SystemExit(SOME_REJECTED if result.count(Outcome.rejected) else 0)


campaigns_cli = click.Group("campaigns", help="The integration campaign's e-mails.")
cli.add_command(campaigns_cli)


@campaigns_cli.command("run")
@click.option("--now", "now_text", default=None, metavar="ISO-DATETIME",
              help="the campaign's clock (UTC), for a replay or a test; default: now")
@click.option("--catch-up-days", type=click.IntRange(min=0), default=None,
              help="send a step missed by up to this many days (default: CAMPAIGN_CATCH_UP_DAYS, 3)")
@click.option("--batch", type=click.IntRange(min=1), default=200, show_default=True,
              help="sends committed per transaction")
@with_appcontext
def campaigns_run(now_text: str | None, catch_up_days: int | None, batch: int):
    """Queue every campaign e-mail due now, exactly once per volunteer and step: safe to schedule every few
    minutes and on several workers at once (a send already made, by this run or another, is skipped)."""
    now = _parse_now(now_text)
    window = current_app.config["CAMPAIGN_CATCH_UP_DAYS"] if catch_up_days is None else catch_up_days
    items = campaigns.due(db.session, today=now.date(), catch_up_days=window)
    db.session.rollback()  # the decision read nothing it writes; each batch is its own transaction
    queued = 0
    for start in range(0, len(items), batch):
        with command_unit_of_work():
            queued += campaigns.send_due(db.session, items[start:start + batch], now=now)
    click.echo(f"{len(items)} due, {queued} queued, {len(items) - queued} already sent by another run")


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return utcnow()
    try:
        now = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date-time: {text}", param_hint="--now") from exc
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


@cli.command("bordereau")
@click.argument("month")
@click.option("--insurer", "insurer_code", required=True, help="the insurer's code (risk carrier)")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--language", type=click.Choice(list(LANGUAGES)), default="en", show_default=True,
              help="the language of the column headers")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the file to write (default: standard output)")
@with_appcontext
def bordereau_command(month: str, insurer_code: str, fmt: str, language: str, output: Path | None):
    """Write the bordereau of MONTH (YYYY-MM) for the insurer: subscriptions started and changed, premiums
    collected and refunded per contract, commission withheld, net owed (the ledger's figures for the month)."""
    from funnel.bordereau import UnknownInsurer, bordereau
    from funnel.bordereau_files import FORMATS

    from ..volunteer.session import translator

    try:
        b = bordereau(db.session, insurer_code, month)
    except UnknownInsurer:
        raise click.ClickException(f"no insurer with code {insurer_code}") from None
    except ValueError:
        raise click.BadParameter("a month as YYYY-MM, for example 2026-12", param_hint="MONTH") from None
    data = FORMATS[fmt][1](b, translator(language))
    if output is None:
        click.get_binary_stream("stdout").write(data)
    else:
        output.write_bytes(data)
        click.echo(f"{output}: {len(b.premiums)} premium line(s), {len(b.changes)} change(s), net owed "
                   f"{b.total('owed_minor') / 100:.2f} {b.currency}", err=True)
    db.session.rollback()
collect_cli = click.Group("collect", help="The monthly premiums after the first month, and their recovery.")
cli.add_command(collect_cli)


@collect_cli.command("run")
@click.option("--now", "now_text", default=None, metavar="ISO-DATETIME",
              help="the collection's clock (UTC), for a replay or a test; default: now")
@with_appcontext
def collect_run(now_text: str | None):
    """Charge every month of cover due (once per subscription and month, whatever else runs), ask the provider
    about debits still processing, then do each recovery step due (once per case and step): safe to schedule
    every few minutes and on several workers at once."""
    from ..volunteer.recovery import run_collection

    now = _parse_now(now_text)
    summary = run_collection(now, progress=lambda line: click.echo(line, err=True))
    click.echo(summary)


@cli.command("report")
@click.argument("month")
@click.option("--format", "fmt", type=click.Choice(["pdf", "csv", "xlsx"]), default="pdf", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the file to write")
@with_appcontext
def report_command(month: str, fmt: str, out: Path):
    """Write the programme's monthly report of MONTH (YYYY-MM): the programme's view of that month (groups under 5
    volunteers withheld), as a PDF with the charts or its figures as CSV or XLSX."""
    from datetime import date

    from ..programme import figures, report

    try:
        year, number = month.split("-")
        first = date(int(year), int(number), 1)
    except ValueError as exc:
        raise click.BadParameter("a month as YYYY-MM", param_hint="MONTH") from exc
    out.write_bytes(report.render(figures.programme_kpis(db.session, first), first, fmt))
    click.echo(f"{out}: {report.filename(first, fmt)} ({out.stat().st_size} bytes)")


kpis_cli = click.Group("kpis", help="The programme KPIs' per-volunteer summary (derived from the funnel events and "
                                    "the campaign's sends).")
cli.add_command(kpis_cli)


@kpis_cli.command("verify")
@with_appcontext
def kpis_verify():
    """Compare the KPIs' per-volunteer summary with a recount from the raw records: exit status 1 (and the
    volunteers' ids) if they differ."""
    from funnel import kpi_summary

    differ = kpi_summary.differences(db.session)
    db.session.rollback()
    if differ:
        shown = ", ".join(str(vid) for vid in differ[:20]) + (" …" if len(differ) > 20 else "")
        click.echo(f"{len(differ)} volunteers' summary differs from the raw records: {shown}", err=True)
        click.echo("run `flask funnel kpis rebuild` to rebuild it", err=True)
        raise SystemExit(1)
    click.echo("the KPIs' summary equals the recount from the raw records")


@kpis_cli.command("rebuild")
@with_appcontext
def kpis_rebuild():
    """Rebuild the KPIs' per-volunteer summary from the raw records (one transaction)."""
    from funnel import kpi_summary

    with command_unit_of_work():
        written = kpi_summary.rebuild(db.session)
    click.echo(f"{written} volunteers' summary rebuilt from the raw records")
