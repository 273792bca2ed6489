"""`flask journey link FILE_REF`: staff issue a volunteer's personal link by hand (printed, to send)."""
from __future__ import annotations

import click
from flask import url_for
from flask.cli import AppGroup

from funnel import journey
from funnel.volunteers import find_volunteer

from ..edge import command_unit_of_work
from ..extensions import db
from ..mail import link_context

cli = AppGroup("journey", help="The volunteer's journey: personal links.")


@cli.command("link")
@click.argument("file_ref")
@click.option("--days", default=journey.DEFAULT_LINK_DAYS, show_default=True, type=click.IntRange(1, 365),
              help="How long the link stays valid.")
def issue_link(file_ref: str, days: int) -> None:
    """Issue a personal link for the volunteer with this file reference and print it."""
    with command_unit_of_work():
        volunteer = find_volunteer(db.session, file_ref=file_ref)
        link, raw = journey.issue_link(db.session, volunteer, days=days)
    with link_context():
        click.echo(url_for("volunteer.open_link", token=raw, _external=True))
    click.echo(f"valid until {link.expires_at:%Y-%m-%d %H:%M} UTC")
