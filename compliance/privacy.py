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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditEvent
from core.db import utcnow


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
    #: a few words on its state (translated by the screen where it is a label)
    detail: str
    when: datetime | date | None = None


@dataclass(frozen=True)
class Outcome:
    """What an erasure did to one record: pseudonymised, restricted (kept under a legal duty), or shredded."""

    kind: str
    ref: str
    #: "pseudonymised", "restricted" or "shredded"
    action: str
    #: for a restriction: why the data is kept, and until when
    reason: str | None = None
    keep_until: date | None = None


@dataclass
class Erasure:
    """The erasure in progress: who asked, when, and the pseudonymous id that replaces the person."""

    actor: object
    now: datetime
    pseudonym: str
    outcomes: list[Outcome] = field(default_factory=list)


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
