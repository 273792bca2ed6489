import os

import click
from flask.cli import with_appcontext

from core.accounts import API_ONLY_ROLES, Role

from ..demo import DEMO_LOGINS, load_demo
from ..edge import command_unit_of_work
from ..extensions import db
from ..mail import link_context


@click.command("demo-data")
@with_appcontext
def cli():
    """Load the demo firms and users (idempotent) and print the logins."""
    password = os.environ.get("DEMO_PASSWORD", "demo-password")
    from ..agreements.services import broker_identity, seal_config

    with command_unit_of_work(), link_context():
        created = load_demo(db.session, password, seal_config(), broker_identity())
    click.echo(f"demo data: {created} new records" if created else "demo data: already loaded, nothing changed")
    click.echo(f"Sign in at /login with any of these (password: {password}):")
    for email, role in DEMO_LOGINS:
        api_only = " (API only: flask --app wsgi api-token create EMAIL)" if Role(role) in API_ONLY_ROLES else ""
        click.echo(f"  {email:<34} {role}{api_only}")
