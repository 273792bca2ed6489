import click
from flask.cli import with_appcontext

from core.integrity import write_checkpoint
from ledger import checkpoint
from ledger.integrity import verify

from ..edge import command_unit_of_work
from ..extensions import db
from ..i18n import tr
from .audit import checkpoint_dir, keyring, last_checkpoint, stop_if_broken

CHECKPOINT = "ledger"


@click.group("ledger", help="The commission ledger.")
def cli():
    pass


@cli.command("verify")
@with_appcontext
def verify_command():
    """Check every running balance, entry and commission against its source event, and the ledger against the last
    checkpoint; exit 1 naming each problem. A clean run writes a new checkpoint (schedule it, e.g. nightly)."""
    found, refused = last_checkpoint(CHECKPOINT)
    problems = verify(db.session)
    if found is not None:
        problems += checkpoint.compare(db.session, found.body, found.written_at)
    stop_if_broken(refused, [f"{p.subject}: {p.message}" for p in problems])
    seen = checkpoint.fingerprint(db.session)
    write_checkpoint(checkpoint_dir(), CHECKPOINT, keyring(), seen.as_dict())
    click.echo("ledger consistent: every balance matches its postings, every entry balances and matches its "
               f"business event; {seen.entries} entries checkpointed")


@cli.command("post-events")
@with_appcontext
def post_events_command():
    """Post the commissions of contracts placed, renewed or cancelled that the outbox worker has not posted
    (idempotent). An event that cannot post (no insurer rate, say) is reported and recorded; exit 1 if any."""
    from core.db import utcnow
    from ledger.posting import post_pending

    with command_unit_of_work():
        report = post_pending(db.session, utcnow().date())
    for event, entry in report.posted:
        click.echo(f"{event.kind} {event.subject}: " + (f"entry {entry.public_id}" if entry else "nothing to post"))
    for failure in report.failed:
        click.echo(f"{failure.event_kind} {failure.subject}: {tr(failure.reason, **failure.params)}", err=True)
    raise SystemExit(1 if report.failed else 0)
