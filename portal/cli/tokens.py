import click
from flask.cli import with_appcontext

from ..accounts.operations import create_api_token, find_user_by_email
from ..extensions import db


@click.group("api-token", help="Personal API tokens.")
def cli():
    pass


@cli.command("create")
@click.argument("email")
@click.option("--name", default="created from the command line", show_default=True)
@with_appcontext
def create(email: str, name: str):
    """Print a new API token for the user with this EMAIL (shown once; stored hashed)."""
    user = find_user_by_email(db.session, email)
    if user is None or not user.active:
        raise click.ClickException(f"no active user with e-mail {email}")
    _token, raw = create_api_token(db.session, user, name)
    db.session.commit()
    click.echo(raw)
