"""`flask privacy ...`: the data subject's rights from the command line (administrators).

- `export EMAIL`: everything held on the person, as JSON on stdout (the export is audited, without their details);
- `erase EMAIL`: pseudonymise what no legal duty requires keeping, restrict the rest (see compliance.privacy);
- `purge-leads`: delete the leads never converted after LEAD_RETENTION_DAYS (schedule it, e.g. daily)."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from compliance import privacy
from pipeline.privacy import purge_leads

from ..edge import command_unit_of_work
from ..extensions import db
from ..privacy import holders  # noqa: F401  (registers every package's holder)


@click.group("privacy", help="Data subjects' rights: export, erasure, retention.")
def cli():
    pass


@cli.command("export")
@click.argument("email")
@with_appcontext
def export_command(email):
    """Print everything held on the person with this e-mail address, as JSON."""
    with command_unit_of_work():
        body = privacy.export(db.session, None, privacy.Subject(email=email))
    click.echo(json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True, default=str))


@cli.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_command(email, yes):
    """Erase the person with this e-mail address: pseudonymise what no legal duty requires keeping, restrict the
    rest (each restriction printed with its reason and the day it falls due)."""
    if not yes:
        click.confirm(f"Erase everything held on {email}? This cannot be undone", abort=True)
    with command_unit_of_work():
        request = privacy.erase(db.session, None, privacy.Subject(email=email))
    summary = request.summary
    click.echo(f"erased as {request.pseudonym}: {summary['pseudonymised']} pseudonymised, "
               f"{summary['shredded']} keys destroyed, {summary['restricted']} kept under a legal duty")
    for r in request.restrictions:
        until = r.keep_until.isoformat() if r.keep_until else "while in force"
        click.echo(f"  kept: {r.kind} {r.ref} until {until}: {r.reason}")


@cli.command("purge-leads")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Retention period in days (default: LEAD_RETENTION_DAYS).")
@with_appcontext
def purge_leads_command(days):
    """Erase the personal data of the leads never converted into a case within the retention period (audited
    with the count). Safe to rerun: an erased lead is not counted again."""
    days = days or current_app.config["LEAD_RETENTION_DAYS"]
    with command_unit_of_work():
        count = purge_leads(db.session, retention_days=days)
    click.echo(f"{count} lead(s) not converted within {days} days purged")
