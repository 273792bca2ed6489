"""`flask outbox work`: deliver queued e-mail. Several workers may run at once on PostgreSQL."""
from __future__ import annotations

import signal
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from core.outbox import deliver_due
from core.transports import FileTransport, SmtpTransport

from ..extensions import db
from ..mail import link_context


def transport_from_config(config):
    if config["MAIL_TRANSPORT"] == "smtp":
        return SmtpTransport(config["SMTP_HOST"], config["SMTP_PORT"], username=config["SMTP_USERNAME"],
                             password=config["SMTP_PASSWORD"], security=config["SMTP_SECURITY"])
    if config["MAIL_TRANSPORT"] == "file":
        return FileTransport(config["MAIL_FILE_DIR"])
    raise click.UsageError(f"unknown MAIL_TRANSPORT {config['MAIL_TRANSPORT']!r} (smtp or file)")


@click.group("outbox", help="The e-mail outbox.")
def cli():
    pass


@cli.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between polls when idle.")
@click.option("--batch", default=50, show_default=True, help="Messages per poll.")
@with_appcontext
def work(once: bool, interval: float, batch: int):
    transport = transport_from_config(current_app.config)
    sender = current_app.config["MAIL_FROM"]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo(f"outbox worker: delivering via {current_app.config['MAIL_TRANSPORT']}")
    while not stopping:
        with link_context():
            result = deliver_due(db.session, transport, sender, batch=batch)
        if result.handled:
            click.echo(f"sent {result.sent}, failed {result.failed}")
        if once:
            break
        if result.handled < batch:
            time.sleep(interval)
    db.session.remove()
