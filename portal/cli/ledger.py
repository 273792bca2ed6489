import click
from flask.cli import with_appcontext

from ledger.engine import verify

from ..extensions import db


@click.group("ledger", help="The commission ledger.")
def cli():
    pass


@cli.command("verify")
@with_appcontext
def verify_command():
    """Recompute every balance from its postings and check every entry balances; exit 1 naming each problem."""
    problems = verify(db.session)
    if problems:
        for p in problems:
            click.echo(f"{p.subject}: {p.message}", err=True)
        raise SystemExit(1)
    click.echo("ledger consistent: every balance matches its postings and every entry balances")
