import click
from flask.cli import with_appcontext

from ..accounts.operations import create_api_token, find_user_by_email
from ..edge import command_unit_of_work
from ..extensions import db


@click.group("api-token", help="Personal API tokens.")
def cli():
    pass


@cli.command("create")
@click.argument("email")
@click.option("--name", default="created from the command line", show_default=True)
@click.option("--days", type=int, default=None, help="lifetime in days [default: API_TOKEN_DAYS, 90]")
@with_appcontext
def create(email: str, name: str, days: int | None):
    """Print a new API token for the user with this EMAIL (shown once; stored hashed). The token goes to
    standard output, its expiry to standard error, so `TOKEN=$(flask api-token create ...)` keeps the token only."""
    user = find_user_by_email(db.session, email)
    if user is None or not user.active:
        raise click.ClickException(f"no active user with e-mail {email}")
    with command_unit_of_work():
        token, raw = create_api_token(db.session, user, name, days=days)
    click.echo(raw)
    click.echo(f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC", err=True)
