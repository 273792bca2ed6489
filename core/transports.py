"""Where the outbox worker delivers e-mail: a real SMTP server, or .eml files for development."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path


class SmtpTransport:
    def __init__(self, host: str, port: int = 587, *, username: str | None = None, password: str | None = None,
                 security: str = "starttls", timeout: float = 20.0):
        if security not in ("starttls", "ssl", "none"):
            raise ValueError("SMTP security must be starttls, ssl or none")
        self.host, self.port, self.username, self.password = host, port, username, password
        self.security, self.timeout = security, timeout

    def send(self, message: EmailMessage, recipients: list[str]) -> None:
        context = ssl.create_default_context()
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message, to_addrs=recipients)


class FileTransport:
    """Writes each message as an .eml file (development default: nothing leaves the machine)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def send(self, message: EmailMessage, recipients: list[str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").split("@")[0]
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(bytes(message))
        tmp.replace(self.directory / f"{name}.eml")
