"""The transactional outbox: e-mails are rows written in the same transaction as the change that causes
them, and a worker delivers them later. Nothing is lost when the mail server is down; a message whose
delivery was recorded is never sent again.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol
from collections.abc import Callable

from sqlalchemy import JSON, Enum, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, created_at, intpk, public_id, utcnow
from .i18n import N_

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=2)


class OutboxState(enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # gave up after MAX_ATTEMPTS; visible to administrators

    @property
    def label(self) -> str:
        return OUTBOX_STATE_LABELS[self]


OUTBOX_STATE_LABELS = {OutboxState.pending: N_("Waiting to be sent"), OutboxState.sent: N_("Sent"),
                       OutboxState.failed: N_("Failed")}

#: what an administrator reads for a message the worker has not rendered yet: its template or job, by name
OUTBOX_TEMPLATE_LABELS = {
    "milestone_client": N_("Case news for the client"),
    "milestone_partner": N_("Case news for the partner"),
    "milestone_introducer": N_("Case news for the introducer"),
    "agreements.seal": N_("Seal a signed agreement"),
    "ledger.post_event": N_("Post a business event to the ledger"),
    "subscription.refund_beyond_end": N_("Refund a premium paid beyond the end of cover"),
    "dunning/reminder": N_("Reminder of an unpaid premium"),
}


class OutboxKind(enum.Enum):
    email = "email"
    #: work done by a registered handler (e.g. sealing a signed agreement)
    job = "job"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "state", "next_attempt_at"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    kind: Mapped[OutboxKind] = mapped_column(Enum(OutboxKind, native_enum=False, length=16),
                                             default=OutboxKind.email, server_default="email")
    #: jobs: the registered handler's name and its arguments; mail queued by the domain: its template context
    job_name: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict | None] = mapped_column(JSON)
    #: e-mail: an attachment produced when the message is sent, as "<provider>:<key>" (see attachment providers)
    attachment_ref: Mapped[str | None] = mapped_column(String(128))
    #: comma-separated addresses
    to: Mapped[str] = mapped_column(Text)
    cc: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    #: the template the message was rendered from, and its language
    template: Mapped[str] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[OutboxState] = mapped_column(
        Enum(OutboxState, native_enum=False, length=16), default=OutboxState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: e-mail: an HTML alternative of body_text, and extra headers (e.g. List-Unsubscribe), when the renderer gave them
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)

    def recipients(self) -> list[str]:
        return [a for a in (self.to + "," + self.cc).split(",") if a.strip()]

    def as_email(self, sender: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = self.to
        if self.cc:
            msg["Cc"] = self.cc
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(self.created_at)
        # Stable per row: a receiver can discard a copy re-sent after a crash between send and commit.
        msg["Message-ID"] = make_msgid(idstring=self.public_id, domain="portal.invalid")
        for name, value in (self.headers or {}).items():
            msg[name] = value
        msg.set_content(self.body_text)
        if self.body_html:
            msg.add_alternative(self.body_html, subtype="html")
        return msg


def enqueue(session: Session, *, to: list[str] | str, subject: str, body_text: str, template: str,
            locale: str, cc: list[str] | None = None, attachment_ref: str | None = None) -> OutboxMessage:
    to_list = [to] if isinstance(to, str) else list(to)
    msg = OutboxMessage(kind=OutboxKind.email, to=",".join(to_list), cc=",".join(cc or []), subject=subject,
                        body_text=body_text, template=template, locale=locale, state=OutboxState.pending,
                        attempts=0, next_attempt_at=utcnow(), attachment_ref=attachment_ref)
    session.add(msg)
    session.flush()
    return msg


def enqueue_mail(session: Session, template: str, *, to: list[str] | str, locale: str, cc: list[str] | None = None,
                 **context) -> OutboxMessage:
    """Send template `template` to `to` in `locale` with `context`: the domain's way to write to people.

    The context is JSON (records by their public id, enums by value); the web layer's registered renderer
    turns it into the subject and body when the worker delivers the message, and the row keeps what was sent."""
    msg = enqueue(session, to=to, cc=cc, subject="", body_text="", template=template, locale=locale)
    msg.payload = context
    session.flush()
    return msg


def enqueue_job(session: Session, name: str, **payload) -> OutboxMessage:
    """Queue work for the worker in the caller's transaction; it runs once the transaction commits."""
    if name not in JOBS:
        raise KeyError(f"unknown outbox job {name!r}")
    msg = OutboxMessage(kind=OutboxKind.job, job_name=name, payload=payload, to="", cc="", subject=name,
                        body_text="", template=name, locale="en", state=OutboxState.pending, attempts=0,
                        next_attempt_at=utcnow())
    session.add(msg)
    session.flush()
    return msg


#: job name -> handler(session, **payload); the handler flushes, the worker commits
JOBS: dict[str, Callable[..., None]] = {}
#: attachment provider -> function(session, key) -> (filename, mimetype, bytes)
ATTACHMENTS: dict[str, Callable[[Session, str], tuple[str, str, bytes]]] = {}


#: job name -> hook(session, error, **payload), run after a failed attempt (outside the rolled-back work)
JOB_FAILURE_HOOKS: dict[str, Callable[..., None]] = {}


def on_job_failure(name: str):
    def register(hook):
        JOB_FAILURE_HOOKS[name] = hook
        return hook

    return register


def job(name: str):
    def register(handler):
        JOBS[name] = handler
        return handler

    return register


@dataclass(frozen=True)
class RenderedMail:
    """What a renderer may return instead of (subject, body): an HTML alternative and extra headers too."""

    subject: str
    body: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


#: renderer(session, template, locale, context) -> (subject, body) or RenderedMail, for mail queued with
#: `enqueue_mail`
RENDERERS: list[Callable[[Session, str, str, dict], tuple[str, str] | RenderedMail]] = []


def mail_renderer(render):
    RENDERERS[:] = [render]
    return render


def attachment_provider(name: str):
    def register(provider):
        ATTACHMENTS[name] = provider
        return provider

    return register


class Transport(Protocol):
    def send(self, message: EmailMessage, recipients: list[str]) -> None: ...


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failures: 30 s, 1 min, 2 min, … capped at 2 h."""
    return min(BASE_DELAY * (2 ** (attempts - 1)), MAX_DELAY)


@dataclass
class WorkResult:
    sent: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed


def deliver_due(session: Session, transport: Transport, sender: str, *, batch: int = 20,
                now: datetime | None = None) -> WorkResult:
    """Deliver the messages that are due, one transaction per message.

    Each message is claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so several workers share the queue and
    never send the same row at the same time; the row lock is held until the outcome is committed.
    """
    result = WorkResult()
    for _ in range(batch):
        now_ = now or utcnow()
        msg = session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.pending, OutboxMessage.next_attempt_at <= now_)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if msg is None:
            session.rollback()
            break
        if not _claim(session, msg):
            session.rollback()  # another worker took it first (SQLite has no SKIP LOCKED)
            continue
        try:
            with session.begin_nested():  # a failing job leaves no partial change behind
                _process(session, msg, transport, sender)
        except Exception as exc:  # any failure is retried later, never lost
            msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if msg.attempts >= MAX_ATTEMPTS:
                msg.state = OutboxState.failed
            else:
                msg.next_attempt_at = now_ + backoff(msg.attempts)
            hook = JOB_FAILURE_HOOKS.get(msg.job_name or "") if msg.kind is OutboxKind.job else None
            if hook is not None:
                try:
                    hook(session, msg.last_error, **(msg.payload or {}))
                except Exception:  # the hook only records; never let it lose the retry bookkeeping
                    log.exception("failure hook of job %s failed", msg.job_name)
            result.failed += 1
            log.warning("outbox message %s failed (attempt %s): %s", msg.public_id, msg.attempts, exc)
        else:
            msg.state, msg.sent_at, msg.last_error = OutboxState.sent, utcnow(), None
            result.sent += 1
        session.commit()
    return result


def _process(session: Session, msg: OutboxMessage, transport: Transport, sender: str) -> None:
    if msg.kind is OutboxKind.job:
        handler = JOBS.get(msg.job_name or "")
        if handler is None:
            raise LookupError(f"no handler registered for job {msg.job_name!r}")
        handler(session, **(msg.payload or {}))
        session.flush()
        return
    if msg.payload is not None and not msg.body_text:
        if not RENDERERS:
            raise LookupError(f"no renderer registered for the mail template {msg.template!r}")
        rendered = RENDERERS[0](session, msg.template, msg.locale, msg.payload)
        if isinstance(rendered, RenderedMail):
            msg.subject, msg.body_text = rendered.subject, rendered.body
            msg.body_html, msg.headers = rendered.html, dict(rendered.headers) or None
        else:
            msg.subject, msg.body_text = rendered
    email = msg.as_email(sender)
    if msg.attachment_ref:
        provider, _, key = msg.attachment_ref.partition(":")
        filename, mimetype, data = ATTACHMENTS[provider](session, key)
        maintype, _, subtype = mimetype.partition("/")
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    transport.send(email, msg.recipients())


def _claim(session: Session, msg: OutboxMessage) -> bool:
    """Compare-and-set on the attempt counter: only one worker wins a given attempt. On SQLite the UPDATE also
    takes the database write lock, held until this worker commits the outcome."""
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == msg.id, OutboxMessage.state == OutboxState.pending,
               OutboxMessage.attempts == msg.attempts)
        .values(attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if claimed:
        session.refresh(msg)
    return claimed


def retry_failed(session: Session, message: OutboxMessage) -> None:
    """Put a message that gave up back in the queue (an administrator's decision)."""
    if message.state is OutboxState.failed:
        message.state, message.attempts, message.next_attempt_at = OutboxState.pending, 0, utcnow()
        session.flush()
