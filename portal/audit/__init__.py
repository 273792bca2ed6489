"""The audit log as compliance and administrators read it: who did what to which record, filtered, paged, exported,
the chain verified on demand, and a record's whole history. Read only: nothing here writes."""
from __future__ import annotations

import csv
import io
import time

from flask import Blueprint, Response, abort, render_template, request, stream_with_context, url_for
from sqlalchemy import select

from core.accounts import Organisation, Role, User
from core.audit import AuditEvent
from core.audit_labels import ACTION_LABELS, SUBJECT_LABELS
from core.csv_export import csv_text, safe_cell
from pipeline.cases.models import Case

from ..extensions import db
from ..i18n import tr
from ..security.access import allow
from . import query
from .present import NAMERS, present, subject_name

bp = Blueprint("audit", __name__, url_prefix="/audit")

#: who reads the audit log: compliance and the administrators; nobody edits it
READERS = (Role.compliance, Role.admin)


def _cursor(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        abort(400)
    return int(raw)


def _choices():
    actions = sorted(((tr(label), action) for action, label in ACTION_LABELS.items()), key=lambda c: c[0].lower())
    kinds = sorted(((tr(label), kind) for kind, label in SUBJECT_LABELS.items()), key=lambda c: c[0].lower())
    return actions, kinds


@bp.route("/")
@allow(*READERS)
def log():
    filters = query.read_filters(request.args)
    page = query.page_of(query.conditions(filters), before=_cursor("before"), after=_cursor("after"))
    actions, kinds = _choices()
    actor = query.actor_user(filters.actor)
    return render_template("audit/log.html", rows=present(page.events), page=page, filters=filters,
                           args=filters.args(), actions=actions, kinds=kinds, actor=actor,
                           subject=subject_name(filters.kind, filters.subject) if filters.kind and filters.subject
                           else None)


CSV_HEADER = ["seq", "occurred_at", "action", "action_label", "actor", "actor_name", "subject_type", "subject_id",
              "subject_name", "ip", "details"]


@bp.route("/export.csv")
@allow(*READERS)
def export():
    """The filtered events, newest first, every one of them (streamed in batches), dates in ISO 8601 UTC."""
    filters = query.read_filters(request.args)
    if filters.errors:
        abort(400)
    where = query.conditions(filters)

    def lines():
        yield csv_text(CSV_HEADER, [])
        for events in query.batches(where):
            buffer = io.StringIO()
            csv.writer(buffer).writerows([safe_cell(c) for c in (
                r.event.seq, r.event.occurred_at.isoformat(), r.event.action, r.action, r.event.actor_label,
                r.actor, r.event.subject_type or "", r.event.subject_id or "", r.subject_name or "", r.event.ip or "",
                "; ".join(f"{k}: {v}" for k, v in r.details))] for r in present(events, links=False))
            yield buffer.getvalue()

    return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


@bp.route("/verify", methods=["POST"])
@allow(*READERS)
def verify():
    """Run the chain verification `flask audit verify` runs (against its last checkpoint) and show the result;
    writes nothing (the scheduled command writes the checkpoints)."""
    from ..cli.audit import check_chain

    started = time.perf_counter()
    found, _previous, problems = check_chain(db.session)
    seconds = time.perf_counter() - started
    events = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar() or 0
    return render_template("audit/verify.html", problems=problems, events=events, seconds=seconds,
                           checkpoint=found.written_at if found else None)


#: kind -> the other records whose events belong to its history: (kind of the part, how to list their ids)
def _parts(kind: str, public_id: str) -> list[tuple[str, list[str]]]:
    from core.contracts import Contract
    from agreements.models import Agreement

    if kind == "cases":
        ids = db.session.execute(select(Contract.public_id).join(Case, Contract.case_id == Case.id)
                                 .where(Case.public_id == public_id)).scalars().all()
        return [("contracts", list(ids))]
    if kind == "organisations":
        ids = db.session.execute(select(Agreement.public_id).join(Organisation,
                                                                  Agreement.organisation_id == Organisation.id)
                                 .where(Organisation.public_id == public_id)).scalars().all()
        return [("agreements", list(ids))]
    return []


@bp.route("/history/<public_id>")
@allow(*READERS)
def history(public_id: str):
    """Everything recorded about one record (`?kind=` says which kind: cases, organisations, users...): the events
    about it, about its parts (a case's contracts, a firm's agreements) and, for a person, what they did."""
    kind = request.args.get("kind") or ""
    if kind not in NAMERS or len(public_id) > 64:
        abort(404)
    name = subject_name(kind, public_id)
    streams = [[AuditEvent.subject_type == kind, AuditEvent.subject_id == public_id]]
    for part_kind, ids in _parts(kind, public_id):
        if ids:
            streams.append([AuditEvent.subject_type == part_kind, AuditEvent.subject_id.in_(ids)])
    person = None
    if kind == "users":
        person = db.session.execute(select(User).where(User.public_id == public_id)).scalar_one_or_none()
        if person is not None:
            streams.append([AuditEvent.actor_id == person.id])
    page = query.merged_page(streams, before=_cursor("before"), after=_cursor("after"))
    if name is None and not page.events:
        abort(404)
    page_url = NAMERS[kind][3]
    return render_template("audit/history.html", rows=present(page.events), page=page, kind=kind,
                           kind_label=tr(SUBJECT_LABELS[kind]), public_id=public_id, name=name or public_id,
                           record_url=url_for(page_url, public_id=public_id) if page_url and name else None,
                           person=person)
