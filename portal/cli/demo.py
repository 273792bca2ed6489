import os

import click
from flask.cli import with_appcontext

from core.accounts import API_ONLY_ROLES, Role

from ..demo import DEMO_LOGINS, load_demo
from ..demo_volunteers import file_ref, volunteer_link
from ..edge import command_unit_of_work
from ..extensions import db
from ..mail import link_context

DEMO_VOLUNTEER = file_ref(0)


@click.command("demo-data")
@with_appcontext
def cli():
    """Load the demo firms and users (idempotent) and print the logins."""
    password = os.environ.get("DEMO_PASSWORD", "demo-password")
    from ..agreements.services import broker_identity, seal_config

    with command_unit_of_work(), link_context():
        created = load_demo(db.session, password, seal_config(), broker_identity())
    with command_unit_of_work(), link_context():
        link = volunteer_link(db.session)
    click.echo(f"demo data: {created} new records" if created else "demo data: already loaded, nothing changed")
    if link:
        click.echo(f"Walk the volunteer's journey (Léa Martin, {DEMO_VOLUNTEER}, no password): {link}")
    click.echo(f"Sign in at /login with any of these (password: {password}):")
    for email, role in DEMO_LOGINS:
        api_only = " (API only: flask --app wsgi api-token create EMAIL)" if Role(role) in API_ONLY_ROLES else ""
        click.echo(f"  {email:<34} {role}{api_only}")
