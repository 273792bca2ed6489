"""`flask cases purge-health-documents`: the retention schedule of the client's secure channel (schedule it
daily)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from pipeline.channel import retention

from ..edge import command_unit_of_work
from ..extensions import db

cli = AppGroup("cases", help="Cases: the retention of what clients sent through the secure channel.")


@cli.command("purge-health-documents")
@click.option("--after-close-days", type=click.IntRange(0), default=None,
              help="Days after the case closed (default: HEALTH_RETENTION_DAYS_AFTER_CLOSE).")
@click.option("--after-upload-days", type=click.IntRange(1), default=None,
              help="Days after the upload, whatever the case (default: HEALTH_RETENTION_DAYS_AFTER_UPLOAD).")
def purge_health_documents(after_close_days: int | None, after_upload_days: int | None) -> None:
    """Delete the encrypted documents and answers the retention schedule no longer allows to keep: those of a case
    closed for the set number of days, and any received longer ago than the other; audited with the counts."""
    cfg = current_app.config
    with command_unit_of_work():
        purged = retention.purge(
            db.session,
            after_close_days=cfg["HEALTH_RETENTION_DAYS_AFTER_CLOSE"] if after_close_days is None else after_close_days,
            after_upload_days=cfg["HEALTH_RETENTION_DAYS_AFTER_UPLOAD"] if after_upload_days is None
            else after_upload_days)
    click.echo(f"purged {purged.documents} document(s) and {purged.answers} set(s) of answers "
               f"from {purged.cases} case(s)")
