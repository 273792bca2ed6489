"""`flask privacy ...`: the data subject's rights from the command line (administrators).

- `export EMAIL`: everything held on the person, as JSON on stdout (the export is audited, without their details);
- `erase EMAIL`: pseudonymise what no legal duty requires keeping, restrict the rest (see compliance.privacy);
- `purge-leads`: delete the leads never converted after LEAD_RETENTION_DAYS (schedule it, e.g. daily)."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from compliance import privacy

from ..edge import command_unit_of_work
from ..extensions import db
from ..privacy import holders  # noqa: F401  (registers every package's holder)


@click.group("privacy", help="Data subjects' rights: export, erasure, retention.")
def cli():
    pass


@cli.command("export")
@click.argument("email")
@with_appcontext
def export_command(email):
    """Print everything held on the person with this e-mail address, as JSON."""
    with command_unit_of_work():
        body = privacy.export(db.session, None, privacy.Subject(email=email))
    click.echo(json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True, default=str))
