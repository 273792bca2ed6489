from flask import Flask


def register(app: Flask) -> None:
    from .cli import audit, demo, outbox, tokens

    for group in (audit.cli, demo.cli, outbox.cli, tokens.cli):
        app.cli.add_command(group)
