from flask import Flask


def register(app: Flask) -> None:
    from .cli import audit, compliance, demo, funnel, journey, ledger, outbox, tokens

    for group in (audit.cli, compliance.cli, demo.cli, funnel.cli, journey.cli, ledger.cli, outbox.cli, tokens.cli):
        app.cli.add_command(group)
