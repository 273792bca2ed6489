"""`flask compliance ...`: the compliance registers' scheduled commands.

- `training alerts`: at the latest alert point of the year, e-mail each broker firm's partner admins the people
  below their pro-rata training target, and list everyone found (the broker's staff included) for compliance. Safe
  to rerun: a person is alerted once per alert point (compliance.training.raise_alerts).
- `complaints remind`: e-mail the reminders due about complaints nearing or past a deadline (each once)."""
from __future__ import annotations

from collections import defaultdict

import click
from babel.numbers import format_decimal
from flask import url_for
from flask.cli import with_appcontext

from compliance import training
from compliance.complaint_report import mark_sent, reminders_to_send
from core.accounts import Role
from core.db import utcnow

from ..complaints import deadline_policy
from ..edge import command_unit_of_work
from ..extensions import db
from ..mail import link_context, queue_mail


@click.group("compliance", help="Compliance registers.")
def cli():
    pass


@cli.group("training", help="The IDD training register (15 hours a year).")
def training_cli():
    pass


def _hours(minutes: int, locale: str = "en") -> str:
    return format_decimal(minutes / 60, format="#,##0.#", locale=locale)


@training_cli.command("alerts")
@click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Count as of this day (default: today, UTC).")
@with_appcontext
def alerts(on):
    """Alert the people below their pro-rata target at the latest alert point (end of each quarter)."""
    today = on.date() if on else training.today_utc()
    with command_unit_of_work(), link_context():
        point, found = training.raise_alerts(db.session, today)
        by_firm = defaultdict(list)
        for row in found:
            by_firm[row.organisation].append(row)
        link = url_for("training.firm", _external=True)
        unreached = []
        for org, rows in by_firm.items():
            admins = [u for u in org.users if u.active and u.role is Role.partner_admin] if org else []
            if org is not None and not admins:
                unreached.append(org.legal_name)
            for admin in admins:
                people = [{"name": r.user.full_name, "hours": _hours(r.minutes, admin.locale),
                           "target": _hours(r.target, admin.locale)} for r in rows]
                queue_mail("training_shortfall", to=admin.email, locale=admin.locale, user=admin, firm=org,
                           point=point.isoformat(), people=people, link=link)
    if point is None:
        click.echo(f"no alert point reached yet in {today.year}")
        return
    click.echo(f"alert point {point.isoformat()}: {len(found)} new people below their pro-rata target")
    for row in found:
        firm = row.organisation.legal_name if row.organisation else "broker staff"
        click.echo(f"  {firm}\t{row.user.full_name}\t{row.user.email}\t{_hours(row.minutes)} h of "
                   f"{_hours(row.target)} h")
    for name in unreached:
        click.echo(f"  no active partner administrator to tell at {name}", err=True)


@cli.group("complaints", help="The complaints register.")
def complaints_cli():
    pass


@complaints_cli.command("remind")
@with_appcontext
def remind() -> None:
    """Queue a reminder to each complaint's owner (to compliance while it has none) before its acknowledgement or
    answer falls due and once it is overdue. Safe to run again: each reminder goes once."""
    today = utcnow().date()
    sent = 0
    with command_unit_of_work(), link_context():
        for reminder in reminders_to_send(db.session, today, deadline_policy()):
            link = url_for("complaints.view", public_id=reminder.complaint.public_id, _external=True)
            for user in reminder.recipients:
                queue_mail("complaint_reminder", to=user.email, locale=user.locale, user=user,
                           complaint=reminder.complaint, kind=reminder.kind.value, link=link)
            mark_sent(db.session, reminder)
            sent += 1
            click.echo(f"{reminder.complaint.reference}: {reminder.kind.value} -> "
                       f"{', '.join(u.email for u in reminder.recipients)}")
    click.echo(f"{sent} reminder(s) queued")
