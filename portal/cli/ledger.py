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


@cli.command("post-events")
@with_appcontext
def post_events_command():
    """Post the commissions of contracts placed, renewed or cancelled since the last run (idempotent).
    An event that cannot post yet (no insurer rate, say) is reported and stays pending; exit 1 if any."""
    from core.db import DomainError, utcnow
    from ledger import commissions

    failed = 0
    for event in commissions.pending_events(db.session):
        try:
            entry = commissions.post_event(db.session, event, today=utcnow().date())
        except DomainError as exc:
            db.session.rollback()
            failed += 1
            click.echo(f"{event.kind} {event.subject}: {exc}", err=True)
        else:
            db.session.commit()
            click.echo(f"{event.kind} {event.subject}: " + (f"entry {entry.public_id}" if entry else "nothing to post"))
    raise SystemExit(1 if failed else 0)
