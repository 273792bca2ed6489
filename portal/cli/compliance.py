"""`flask compliance complaints remind`: e-mail the reminders due about complaints nearing or past a deadline."""
from __future__ import annotations

import click
from flask import url_for
from flask.cli import AppGroup

from compliance.complaint_report import mark_sent, reminders_to_send
from core.db import utcnow

from ..complaints import deadline_policy
from ..edge import command_unit_of_work
from ..extensions import db
from ..mail import link_context, queue_mail

cli = AppGroup("compliance", help="Compliance: the complaints register.")
complaints = AppGroup("complaints", help="The complaints register.")
cli.add_command(complaints)


@complaints.command("remind")
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
