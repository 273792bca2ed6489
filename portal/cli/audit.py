import click
from flask.cli import with_appcontext

from core.audit import verify

from ..extensions import db


@click.group("audit", help="The hash-chained audit log.")
def cli():
    pass


@cli.command("verify")
@with_appcontext
def verify_command():
    """Check the whole chain; exit 1 and name each break if any event was modified or deleted."""
    problems = verify(db.session)
    if problems:
        for p in problems:
            click.echo(f"event {p.seq}: {p.problem}", err=True)
        raise SystemExit(1)
    click.echo("audit log intact")
