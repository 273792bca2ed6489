"""A real SMTP server (aiosmtpd) on loopback for tests, that can be stopped and started again on its port."""
from __future__ import annotations

import socket
import threading
from email import message_from_bytes

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


class SmtpServer:
    def __init__(self):
        self.port = free_port()
        self.handler = Recorder()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.handler.messages
