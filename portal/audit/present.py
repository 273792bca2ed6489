"""Audit events as people read them: who (a name), did what (a translated label), to which record (its name),
with the details as a short list. The names of a page of events are looked up together: one query per kind of
record on the page, never one per event."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import url_for
from sqlalchemy import select

from agreements.models import Agreement
from core.accounts import Organisation, User
from core.audit import AuditEvent
from core.audit_labels import action_label, subject_label
from core.contracts import Contract, Insurer
from core.i18n import N_
from funnel.models import RosterImport, Subscription, TariffVersion, Volunteer, ZoneTable
from funnel.payment_models import Payment, SavedPaymentMethod
from ledger.models import InsurerReceipt, InsurerStatement, PayoutRun, ReconciliationItem
from pipeline.cases.models import Case
from pipeline.leads.models import Lead

from ..accounts.models import ApiToken
from ..extensions import db
from ..i18n import format_day, format_when, tr
from ..labels import value_label


def _person(first, last) -> str:
    return " ".join(p for p in (first, last) if p)


#: kind of record -> (model, the columns its name is made of, how the name is made, the page that shows it)
NAMERS = {
    "users": (User, (User.full_name, User.email), lambda n, e: f"{n} ({e})" if n else e, None),
    "organisations": (Organisation, (Organisation.legal_name,), str, "admin.organisation_view"),
    "agreements": (Agreement, (Agreement.reference,), str, "agreements.view"),
    "leads": (Lead, (Lead.first_name, Lead.last_name), _person, "leads.view"),
    "cases": (Case, (Case.client_first_name, Case.client_last_name), _person, "cases.view"),
    "contracts": (Contract, (Contract.policy_number, Contract.product_line),
                  lambda number, line: number or getattr(line, "value", line), None),
    "insurers": (Insurer, (Insurer.name,), str, None),
    "ledger_insurer_statements": (InsurerStatement, (InsurerStatement.period, InsurerStatement.filename),
                                  lambda period, name: f"{period} · {name}", "finance.insurer_statement"),
    "ledger_insurer_receipts": (InsurerReceipt, (InsurerReceipt.bank_reference, InsurerReceipt.received_on),
                                lambda ref, on: f"{ref or ''} {on}".strip(), None),
    "ledger_reconciliation_items": (ReconciliationItem, (ReconciliationItem.policy_number,
                                                         ReconciliationItem.row_number),
                                    lambda number, row: f"{number or ''} #{row}".strip(), None),
    "ledger_payout_runs": (PayoutRun, (PayoutRun.reference,), str, "finance.payout_run"),
    "api_tokens": (ApiToken, (ApiToken.name, ApiToken.prefix), lambda name, prefix: f"{name} ({prefix}…)", None),
    "volunteers": (Volunteer, (Volunteer.first_name, Volunteer.last_name), _person, "subscriptions.volunteer"),
    "roster_imports": (RosterImport, (RosterImport.filename, RosterImport.source),
                       lambda name, source: name or getattr(source, "value", source), None),
    "tariff_versions": (TariffVersion, (TariffVersion.ref,), str, None),
    "zone_tables": (ZoneTable, (ZoneTable.ref,), str, None),
    "subscriptions": (Subscription, (Subscription.reference,), str, "subscriptions.view"),
    "payments": (Payment, (Payment.purpose,), str, None),
    "saved_payment_methods": (SavedPaymentMethod, (SavedPaymentMethod.display,), lambda d: d or "—", None),
}

#: detail keys that name another record, by kind (for every action), and the exceptions by action
DETAIL_REFERENCES = {"organisation": "organisations", "case": "cases", "subscription": "subscriptions",
                     "volunteer": "volunteers", "payment": "payments", "owner": "users", "earlier": "leads",
                     "possible_duplicate": "leads"}
ACTION_REFERENCES = {("user.organisation_changed", "old"): "organisations",
                     ("user.organisation_changed", "new"): "organisations",
                     ("agreement.superseded", "by"): "agreements"}

#: details never shown, whatever an event holds (none is recorded today; a safeguard for tomorrow's)
WITHHELD = ("password", "secret", "token", "signature_code", "health", "underwriting", "summary", "diagnos",
            "private_key")
#: detail keys shown masked to their last characters
MASKED = ("iban",)

#: labels of the detail keys most events carry; others show as their key, underscores as spaces
DETAIL_LABELS = {
    "reason": N_("Reason"), "from": N_("From"), "to": N_("To"), "old": N_("Before"), "new": N_("After"),
    "before": N_("Before"), "after": N_("After"), "changes": N_("Changes"), "organisation": N_("Partner firm"),
    "case": N_("Case"), "subscription": N_("Adhesion"), "volunteer": N_("Volunteer"), "payment": N_("Payment"),
    "amount_minor": N_("Amount (minor units)"), "currency": N_("Currency"), "policy_number": N_("Policy number"),
    "product_line": N_("Product line"), "email": N_("E-mail"), "role": N_("Role"), "status": N_("Status"),
    "scope": N_("Scope"), "state": N_("State"), "name": N_("Name"), "kind": N_("Kind"),
}


@dataclass
class Row:
    event: AuditEvent
    action: str
    actor: str
    actor_key: str | None
    subject_kind: str
    subject_name: str | None
    subject_url: str | None
    subject_endpoint: str | None
    history_url: str | None
    details: list[tuple[str, str]] = field(default_factory=list)


def _ref_type(action: str, key: str) -> str | None:
    return ACTION_REFERENCES.get((action, key)) or DETAIL_REFERENCES.get(key)


def resolve_names(wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """(kind, public id) -> name for every record asked for: one query per kind."""
    names = {}
    for kind, ids in wanted.items():
        namer = NAMERS.get(kind)
        ids = {i for i in ids if i}
        if namer is None or not ids:
            continue
        model, columns, make, _page = namer
        for public_id, *values in db.session.execute(
                select(model.public_id, *columns).where(model.public_id.in_(sorted(ids)))).all():
            names[(kind, public_id)] = make(*values)
    return names


def _actors(events: list[AuditEvent]) -> dict[int, tuple[str, str]]:
    ids = {ev.actor_id for ev in events if ev.actor_id is not None}
    if not ids:
        return {}
    return {row.id: (row.full_name, row.public_id) for row in db.session.execute(
        select(User.id, User.full_name, User.public_id).where(User.id.in_(ids))).all()}


def _withheld(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in WITHHELD)


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def _moment(text: str) -> str | None:
    """An ISO 8601 day or moment recorded in the details, written as the pages write dates."""
    try:
        if ISO_DAY.fullmatch(text):
            return format_day(date.fromisoformat(text))
        if ISO_MOMENT.fullmatch(text):
            return format_when(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
    return None


def _short(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return tr(N_("yes")) if value else tr(N_("no"))
    text = str(value)
    label = value_label(text) if isinstance(value, str) else None
    if label:
        return tr(label)
    moment = _moment(text) if isinstance(value, str) else None
    if moment:
        return moment
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"  # a digest: its start is enough to compare with a document's
    return text if len(text) <= 200 else text[:200] + "…"


def _value(action: str, key: str, value, names) -> str:
    if _withheld(key):
        return tr(N_("(withheld)"))
    if key.lower() in MASKED and isinstance(value, str) and value:
        return "•••• " + value[-4:]
    kind = _ref_type(action, key)
    if kind and isinstance(value, str):
        return names.get((kind, value), value)
    if isinstance(value, dict):
        return "; ".join(f"{_key_label(k)}: {_value(action, k, v, names)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(action, key, v, names) for v in value)
    return _short(value)


def _key_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return tr(label) if label else key.replace("_", " ")


def _changes(action: str, changes: dict, names) -> str:
    """{"field": [old, new]} as "field: old → new; …" (the organisation edits record their changes so)."""
    parts = []
    for key, pair in changes.items():
        if _withheld(key):
            parts.append(f"{_key_label(key)}: {tr(N_('(withheld)'))}")
        elif isinstance(pair, list) and len(pair) == 2:
            old, new = (_value(action, key, v, names) for v in pair)
            parts.append(f"{_key_label(key)}: {old} → {new}")
        else:
            parts.append(f"{_key_label(key)}: {_value(action, key, pair, names)}")
    return "; ".join(parts)


def detail_list(event: AuditEvent, names) -> list[tuple[str, str]]:
    details = event.details()
    out = []
    for key, value in details.items():
        if key == "changes" and isinstance(value, dict):
            out.append((_key_label(key), _changes(event.action, value, names)))
        else:
            out.append((_key_label(key), _value(event.action, key, value, names)))
    return out


def _referenced(event: AuditEvent, details: dict, wanted: dict[str, set[str]]) -> None:
    if event.subject_type:
        wanted[event.subject_type].add(event.subject_id)
    for key, value in details.items():
        kind = _ref_type(event.action, key)
        if kind and isinstance(value, str):
            wanted[kind].add(value)
        elif key == "changes" and isinstance(value, dict):
            for inner, pair in value.items():
                kind = _ref_type(event.action, inner)
                if kind and isinstance(pair, list):
                    wanted[kind].update(v for v in pair if isinstance(v, str))


def present(events: list[AuditEvent], *, links: bool = True) -> list[Row]:
    """The rows of a page: names of actors and records looked up in one query per kind."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for ev in events:
        _referenced(ev, ev.details(), wanted)
    names = resolve_names(wanted)
    actors = _actors(events)
    rows = []
    for ev in events:
        if ev.actor_id is not None and ev.actor_id in actors:
            full_name, actor_key = actors[ev.actor_id]
            actor = f"{full_name} ({ev.actor_label})" if full_name else ev.actor_label
        else:
            actor_key = None
            actor = tr(N_("System")) if ev.actor_label == "system" else ev.actor_label
        name = names.get((ev.subject_type, ev.subject_id)) if ev.subject_type else None
        page = NAMERS.get(ev.subject_type or "", (None, None, None, None))[3]
        rows.append(Row(
            event=ev, action=tr(action_label(ev.action)), actor=actor, actor_key=actor_key,
            subject_kind=tr(subject_label(ev.subject_type)) if ev.subject_type else "",
            subject_name=name if name is not None else ev.subject_id,
            subject_url=url_for(page, public_id=ev.subject_id) if links and page and name is not None else None,
            subject_endpoint=page,
            history_url=url_for("audit.history", kind=ev.subject_type, public_id=ev.subject_id)
            if links and ev.subject_type in NAMERS and ev.subject_id else None,
            details=detail_list(ev, names)))
    return rows


def subject_name(kind: str, public_id: str) -> str | None:
    return resolve_names({kind: {public_id}}).get((kind, public_id))
