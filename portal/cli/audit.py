import click
from flask import current_app
from flask.cli import with_appcontext

from core import audit
from core.integrity import BadCheckpoint, Keyring, read_checkpoint, write_checkpoint

from ..extensions import db

CHECKPOINT = "audit"


def keyring() -> Keyring:
    return Keyring.parse(current_app.config["AUDIT_HMAC_KEYS"])


def checkpoint_dir() -> str:
    return current_app.config["AUDIT_CHECKPOINT_DIR"]


def last_checkpoint(kind: str):
    """(the last checkpoint of `kind` or None, a problem message if its file is not authentic)."""
    try:
        return read_checkpoint(checkpoint_dir(), kind, keyring()), None
    except BadCheckpoint as exc:
        return None, f"checkpoint refused: {exc}"


def stop_if_broken(refused: str | None, problems: list[str]) -> None:
    """Exit 1 naming each problem, and the last checkpoint if it was refused; nothing when all is well."""
    if problems or refused:
        for line in ([refused] if refused else []) + problems:
            click.echo(line, err=True)
        raise SystemExit(1)


def check_chain(session):
    """What `audit verify` checks, without writing anything: (the last checkpoint or None, the chain as verified
    from it, the problems as lines naming each break, the checkpoint's refusal first). The command and the audit
    page's "verify the chain" button both run this."""
    found, refused = last_checkpoint(CHECKPOINT)
    previous = audit.ChainEnd.from_dict(found.body) if found else None
    problems = [f"event {p.seq}: {p.problem}" for p in audit.verify(session, keyring(), previous)]
    return found, previous, ([refused] if refused else []) + problems


@click.group("audit", help="The hash-chained audit log.")
def cli():
    pass


@cli.command("verify")
@with_appcontext
def verify_command():
    """Check the whole chain against the last checkpoint; exit 1 and name each break if any event was modified or
    deleted. A clean run writes a new checkpoint (schedule it, e.g. hourly)."""
    found, previous, problems = check_chain(db.session)
    stop_if_broken(None, problems)
    end = audit.chain_end(db.session, previous)
    write_checkpoint(checkpoint_dir(), CHECKPOINT, keyring(), end.as_dict())
    seen = f" (last checkpoint {found.written_at})" if found else " (first checkpoint)"
    click.echo(f"audit log intact: {end.seq} events{seen}; checkpoint written")
