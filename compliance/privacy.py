"""Data-subject rights: look a person up, export what is held on them, erase it.

`compliance/` sits below the packages that hold personal data, so it never reads their tables: each package
(pipeline, funnel, ledger, agreements, and compliance's own registers) registers a `Holder` here with three
functions, and this module orchestrates them:

- `find(session, subject)`: the records it holds on the person (for the lookup screen);
- `export(session, subject)`: a JSON-ready dict of everything it holds on the person;
- `erase(session, subject, erasure)`: pseudonymise what no legal duty requires keeping, restrict what one does.

A person is found by e-mail address (exact, case-insensitive) or by name (every word of the query in the first or
last name). The holders that find the person directly run first; what they found (contract public ids) is passed to
the others (`Subject.contracts`), so the ledger can answer for the contracts without reading the cases."""
from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditEvent
from core.db import utcnow
from core.i18n import N_
from core.outbox import OutboxMessage, OutboxState

from .errors import NothingHeld
from .privacy_models import ErasureRequest, Restriction

#: how long a placed contract's distribution records are kept after the contract ends (IDD record keeping, the
#: insurance limitation periods, anti-money-laundering: 5 years)
CONTRACT_RETENTION_YEARS = 5
#: how long accounting records are kept (French Code de commerce, art. L123-22: 10 years)
ACCOUNTING_RETENTION_YEARS = 10
CONTRACT_RETENTION = N_("A placed contract: its distribution records are kept for 5 years after it ends.")
ACCOUNTING_RETENTION = N_("Accounting records (amounts, dates, policy references, the client's initials) are kept "
                          "for 10 years.")
#: why nothing more is sent to a person whose records are restricted
RESTRICTED = N_("The client asked to be erased: this record is kept under a legal duty and nothing more is sent "
                "to them or about them.")
#: what the lookup says of a consent and of a signature (labels, translated by the screen)
CONSENT_GIVEN, CONSENT_WITHDRAWN = N_("Given"), N_("Withdrawn")
SIGNED_AS = {"partner": N_("Signed for the partner"), "broker": N_("Signed for the broker")}
SIGNATURE_RETENTION = N_("A signed agreement: its signatures are kept while it is in force, then for 5 years.")


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def fold(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()


@dataclass
class Subject:
    """Who the request is about: an e-mail address or a name (at least one), and what was found of them."""

    email: str | None = None
    name: str | None = None
    #: public ids of the contracts held on the person (filled by the holders that find them directly)
    contracts: set[str] = field(default_factory=set)
    #: public ids of every record found (the audit trail of these records belongs to the export)
    records: set[str] = field(default_factory=set)

    def __post_init__(self):
        self.email = (self.email or "").strip().casefold() or None
        self.name = " ".join((self.name or "").split()) or None

    @property
    def words(self) -> list[str]:
        return [w.casefold() for w in re.findall(r"\w+", self.name or "")]

    def matches(self, email_column, first_column, last_column) -> ColumnElement[bool]:
        """The SQL condition selecting the person's rows of a table (e-mail, or every word of the name)."""
        conditions = []
        if self.email and email_column is not None:
            conditions.append(func.lower(email_column) == self.email)
        if self.words:
            conditions.append(and_(*(or_(func.lower(first_column).contains(w, autoescape=True),
                                         func.lower(last_column).contains(w, autoescape=True))
                                     for w in self.words)))
        return or_(*conditions) if conditions else func.lower(first_column) != func.lower(first_column)


@dataclass(frozen=True)
class Holding:
    """One record held on the person, as the lookup lists it."""

    #: what kind of record: lead, case, contract, consent, volunteer, subscription, complaint, signature...
    kind: str
    #: its public id or reference
    ref: str
    #: the person's name and e-mail as that record holds them
    name: str
    email: str | None
    #: its state, as a label (a msgid the screen translates)
    detail: str
    when: datetime | date | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an erasure did to one record: pseudonymised, restricted (kept under a legal duty), or shredded."""

    kind: str
    ref: str
    #: "pseudonymised", "restricted", "shredded", or "purged" (deleted: what the client sent through the secure
    #: channel)
    action: str
    #: for a restriction: why the data is kept, and until when
    reason: str | None = None
    keep_until: date | None = None


@dataclass
class Erasure:
    """The erasure in progress: who asked, when, the pseudonymous id that replaces the person, and what is known
    to identify them in free text (their e-mail addresses, names and phone numbers as the records hold them)."""

    actor: object
    now: datetime
    pseudonym: str
    identifiers: set[str] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)

    def done(self, kind: str, ref: str, action: str, reason: str | None = None,
             keep_until: date | None = None) -> None:
        self.outcomes.append(Outcome(kind, ref, action, reason, keep_until))

    def scrub(self, text: str | None) -> str | None:
        """`text` with the person's identifiers replaced by the pseudonym (longest first, any case)."""
        if not text:
            return text
        for needle in sorted(self.identifiers, key=len, reverse=True):
            text = re.sub(re.escape(needle), self.pseudonym, text, flags=re.IGNORECASE)
        return text

    def mentions(self, text: str | None) -> bool:
        lowered = (text or "").casefold()
        return any(needle.casefold() in lowered for needle in self.identifiers)


@dataclass(frozen=True)
class Holder:
    name: str
    find: Callable[[Session, Subject], list[Holding]]
    export: Callable[[Session, Subject], dict]
    erase: Callable[[Session, Subject, Erasure], None] | None = None
    #: finds the person directly (by e-mail or name); the others answer for what those found
    direct: bool = True


_HOLDERS: dict[str, Holder] = {}


def register(holder: Holder) -> Holder:
    """A package declares what it holds on people (once, at import; registering again replaces)."""
    _HOLDERS[holder.name] = holder
    return holder


def holders() -> list[Holder]:
    return sorted(_HOLDERS.values(), key=lambda h: (not h.direct, h.name))


def holding_identifiers(found: list[Holding]) -> set[str]:
    """What identifies the person in free text: the e-mail addresses, full names, last names and phone numbers
    the records hold (first names alone are too common to replace everywhere, but go with the last name)."""
    out: set[str] = set()
    for h in found:
        for value in (h.email, h.name, h.phone):
            if value and len(value.strip()) >= 3:
                out.add(value.strip())
        words = (h.name or "").split()
        if len(words) >= 2 and len(words[-1]) >= 3:
            out.add(words[-1])
    return out


def look_up(session: Session, subject: Subject) -> list[Holding]:
    """Every record held on the person, across the packages (the direct holders first)."""
    found: list[Holding] = []
    for holder in holders():
        rows = holder.find(session, subject)
        subject.records.update(row.ref for row in rows)
        subject.contracts.update(row.ref for row in rows if row.kind == "contract")
        found += rows
    return found


EXPORT_FORMAT = "portal.data-subject-export/1"


def _holding(h: Holding) -> dict:
    return {"kind": h.kind, "ref": h.ref, "name": h.name, "email": h.email, "state": h.detail,
            "date": h.when.isoformat() if h.when else None}


def audit_trail(session: Session, refs: set[str]) -> list[dict]:
    """The audit events about the person's records (their details as recorded)."""
    if not refs:
        return []
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject_id.in_(sorted(refs)))
                             .order_by(AuditEvent.seq))
    return [{"at": e.occurred_at.isoformat(), "action": e.action, "by": e.actor_label, "subject_type": e.subject_type,
             "subject": e.subject_id, "details": e.details()} for e in events]


def export(session: Session, actor, subject: Subject, *, ip: str | None = None) -> dict:
    """Everything held on the person, package by package, as JSON-ready data. The export is audited (how many
    records, which packages), without the person's details."""
    found = look_up(session, subject)
    packages = {holder.name: holder.export(session, subject) for holder in holders()}
    body = {"format": EXPORT_FORMAT, "generated_at": utcnow().isoformat(),
            "subject": {"email": subject.email, "name": subject.name},
            "records": [_holding(h) for h in found], "packages": packages,
            "audit_trail": audit_trail(session, subject.records)}
    audit.record(session, "privacy.exported", actor=actor, ip=ip, records=len(found),
                 packages=sorted(name for name, part in packages.items() if any(part.values())))
    return body


def _outbox_messages(session: Session, erasure: Erasure) -> list[OutboxMessage]:
    """The e-mails queued or sent that name the person (to them, or about them to a partner)."""
    if not erasure.identifiers:
        return []
    conditions = [func.lower(column).contains(needle.casefold(), autoescape=True)
                  for needle in erasure.identifiers
                  for column in (OutboxMessage.to, OutboxMessage.subject, OutboxMessage.body_text)]
    return list(session.scalars(select(OutboxMessage).where(or_(*conditions))))


def _erase_outbox(session: Session, erasure: Erasure) -> None:
    """Core's outbox (below every package): the messages naming the person are scrubbed; an unsent one is not sent."""
    for message in _outbox_messages(session, erasure):
        message.to = erasure.scrub(message.to) if erasure.mentions(message.to) else message.to
        message.cc = erasure.scrub(message.cc)
        message.subject = erasure.scrub(message.subject)[:255]
        message.body_text = erasure.scrub(message.body_text)
        message.payload = {"erased": erasure.pseudonym} if message.payload and message.job_name is None else \
            message.payload
        if message.state is OutboxState.pending:
            message.state = OutboxState.failed
            message.last_error = "not sent: its recipient was erased"
        erasure.done("email", message.public_id, "pseudonymised")


def erase(session: Session, actor, subject: Subject, *, ip: str | None = None,
          now: datetime | None = None) -> ErasureRequest:
    """Erase the person: each package pseudonymises what no legal duty requires keeping and restricts the rest
    (recorded with the reason and the day it falls due); the keys sealing their data in append-only records are
    destroyed. The erasure is recorded and audited with counts and the pseudonym only."""
    found = look_up(session, subject)
    if not found:
        raise NothingHeld()
    erasure = Erasure(actor=actor, now=now or utcnow(), pseudonym=f"subject-{secrets.token_hex(8)}",
                      identifiers=holding_identifiers(found) | ({subject.email} if subject.email else set()))
    for holder in holders():
        if holder.erase is not None:
            holder.erase(session, subject, erasure)
    _erase_outbox(session, erasure)
    counts = {action: sum(1 for o in erasure.outcomes if o.action == action)
              for action in ("pseudonymised", "restricted", "shredded", "purged")}
    request = ErasureRequest(requested_by_id=getattr(actor, "id", None), pseudonym=erasure.pseudonym,
                             summary={**counts, "packages": sorted(h.name for h in holders() if h.erase)})
    request.restrictions = [Restriction(kind=o.kind, ref=o.ref, reason=o.reason or "", keep_until=o.keep_until)
                            for o in erasure.outcomes if o.action == "restricted"]
    session.add(request)
    session.flush()
    audit.record(session, "privacy.erased", actor=actor, subject=request, ip=ip, pseudonym=erasure.pseudonym,
                 **counts)
    return request


def restriction_of(session: Session, ref: str, today: date | None = None) -> Restriction | None:
    """The restriction on the record `ref` (a case's or a volunteer's public id...) while its duty runs: such a
    record is kept, not used (GDPR art. 18): nothing more is sent to the person or about them to a partner."""
    today = today or utcnow().date()
    return session.scalars(select(Restriction).where(
        Restriction.ref == ref, or_(Restriction.keep_until.is_(None), Restriction.keep_until >= today))
        .order_by(Restriction.id.desc())).first()


def restricted_refs(session: Session) -> set[str]:
    """The records kept under a legal duty whose processing is restricted (their duty has not ended)."""
    today = utcnow().date()
    return set(session.scalars(select(Restriction.ref).where(
        or_(Restriction.keep_until.is_(None), Restriction.keep_until >= today))))
