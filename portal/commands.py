from flask import Flask


def register(app: Flask) -> None:
    from .cli import audit, cases, compliance, demo, funnel, journey, ledger, outbox, privacy, tokens

    for group in (audit.cli, cases.cli, compliance.cli, demo.cli, funnel.cli, journey.cli, ledger.cli, outbox.cli,
                  privacy.cli, tokens.cli):
        app.cli.add_command(group)
