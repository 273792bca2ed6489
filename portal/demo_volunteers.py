"""The volunteer side of the demo data (`flask demo-data`, `make run`): a small roster of 30 volunteers across
the three zones, some with dependants, a few whose mission ended, imported through the roster feed itself
(funnel.roster.apply_events, as an API batch from the programme operator); a few subscriptions taken through
the journey's own functions (quoted, adhesion in progress, signed and sealed); and one volunteer's personal
link, printed by the command so that whoever tries `make run` can walk the journey.

The link's token is derived from the application's SECRET_KEY: the same on every run (only its SHA-256 is
stored, as for any link), so a second run changes nothing and prints the same link while it is valid."""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from core.db import utcnow
from funnel import journey
from funnel.catalogue import Cover
from funnel.dates import add_months
from funnel.eligibility import Confirmation, Relationship
from funnel.models import AccessLink, Volunteer
from funnel.roster import apply_events
from funnel.rules import start_window

from .mail import link_context, queue_mail
from .volunteer.session import translator

#: (first name, last name, mission country, language, months since the mission started, mission months,
#:  dependants as (category, years old)); the sample zone table puts FR's neighbours in zone 1, the US, Canada,
#:  Singapore, Japan... in zone 3, the rest in zone 2
ROSTER = [
    ("Léa", "Martin", "US", "fr", 1, 18, [("spouse", 27)]),
    ("Hugo", "Bernard", "DE", "fr", 2, 12, []),
    ("Chloé", "Dubois", "SG", "en", 0, 24, []),
    ("Lucas", "Thomas", "BR", "fr", 3, 18, [("spouse", 29), ("child", 2)]),
    ("Manon", "Robert", "GB", "en", 1, 12, []),
    ("Nathan", "Richard", "CN", "fr", 5, 24, []),
    ("Camille", "Petit", "ES", "fr", 0, 12, []),
    ("Enzo", "Durand", "JP", "en", 2, 18, [("spouse", 30)]),
    ("Inès", "Leroy", "MA", "fr", 1, 6, []),
    ("Louis", "Moreau", "CA", "fr", 4, 24, [("child", 1)]),
    ("Jade", "Simon", "IT", "en", 2, 12, []),
    ("Gabriel", "Laurent", "IN", "fr", 6, 18, []),
    ("Sarah", "Lefebvre", "AE", "fr", 1, 12, []),
    ("Raphaël", "Michel", "MX", "en", 0, 24, [("spouse", 31), ("child", 4), ("child", 1)]),
    ("Zoé", "Garcia", "NL", "fr", 3, 12, []),
    ("Arthur", "David", "AU", "fr", 2, 24, []),
    ("Lina", "Bertrand", "SN", "fr", 1, 12, []),
    ("Jules", "Roux", "PL", "en", 7, 18, []),
    ("Emma", "Vincent", "HK", "fr", 1, 12, []),
    ("Adam", "Fournier", "ZA", "fr", 2, 18, [("spouse", 28)]),
    ("Alice", "Morel", "BE", "fr", 0, 12, []),
    ("Tom", "Girard", "QA", "en", 3, 24, []),
    ("Rose", "André", "VN", "fr", 2, 12, []),
    ("Paul", "Lefèvre", "PT", "fr", 8, 12, []),
    ("Anna", "Mercier", "CH", "fr", 1, 18, []),
    ("Noah", "Dupont", "TR", "en", 4, 12, []),
    ("Mila", "Lambert", "SE", "fr", 2, 24, []),
    ("Léo", "Bonnet", "CL", "fr", 9, 12, []),
    ("Eva", "François", "KR", "en", 1, 18, []),
    ("Sacha", "Martinez", "AR", "fr", 5, 24, [("child", 6)]),
]
#: what the roster says later, once some volunteers have subscribed: (row, event, months from now, reason) —
#: missions ended (one of them with a quote, which closes), and a prolongation (a signed cover moves with it)
LATER = [(23, "radiation", 0, None), (27, "interruption", 1, "return for family reasons"),
         (11, "radiation", 2, None), (7, "prolongation", 20, None)]
#: the volunteer whose link the command prints: Léa Martin, in the US (zone 3), with a spouse, nothing bought yet
LINK_ROW = 0
OPERATOR = "operator@demo.example"
HOLDER_PHONE = "+33 6 12 34 56 78"


def file_ref(row: int) -> str:
    return f"DEMO-2026-{row + 1:04d}"


def _roster_records(today: date, now: datetime) -> list[dict]:
    stamp = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for row, (first, last, country, language, since, months, dependants) in enumerate(ROSTER):
        start = add_months(today, -since) + timedelta(days=1)
        records.append({
            "event": "affiliation", "event_id": f"{file_ref(row)}-1", "occurred_at": stamp, "file_ref": file_ref(row),
            "first_name": first, "last_name": last, "language": language, "programme": "VIA" if row % 7 == 3 else "VIE",
            "email": f"{first.lower().replace('é', 'e').replace('è', 'e').replace('ë', 'e').replace('ï', 'i')}."
                     f"{last.lower().replace('é', 'e').replace('è', 'e')}@volunteer.demo.example",
            "birth_date": date(today.year - 24 - row % 5, 1 + row % 12, 1 + row % 27).isoformat(),
            "mission_country": country, "mission_start": start.isoformat(),
            "mission_end": (add_months(start, months) - timedelta(days=1)).isoformat(),
            "dependants": [{"category": category, "birth_date": date(today.year - age, 3, 15).isoformat()}
                           for category, age in dependants]})
    return records


def _later_records(session: Session, today: date, now: datetime) -> list[dict]:
    stamp = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for row, kind, months, reason in LATER:
        v = _find(session, file_ref(row))
        end = max(add_months(today, months), v.mission_start + timedelta(days=1))
        records.append({"event": kind, "event_id": f"{file_ref(row)}-2", "occurred_at": stamp,
                        "file_ref": file_ref(row), ("mission_end" if kind == "prolongation" else "end_date"):
                        end.isoformat(), **({"reason": reason} if reason else {})})
    return records


def _find(session: Session, ref: str) -> Volunteer | None:
    return session.scalars(select(Volunteer).where(Volunteer.file_ref == ref)).first()


def _spouse(volunteer: Volunteer) -> list[journey.DependantChoice]:
    yes = {c: True for c in (Confirmation.no_salaried_work, Confirmation.not_national_of_mission_country,
                             Confirmation.lives_in_mission_country)}
    return [journey.DependantChoice(d, Relationship.married, yes) for d in volunteer.current_dependants
            if d.category.value == "spouse"]


def _subscriptions(session: Session, today: date, now: datetime, seal_config) -> int:
    """Quoted (3), adhesion in progress (1), signed and sealed (2): through the journey's functions."""
    broker = current_app.config["BROKER_NAME"]
    plan = [(1, {Cover.health: "essential"}, "quoted"), (11, {Cover.health: "essential"}, "quoted"), (4, {Cover.health: "comfort", Cover.prevoyance: "standard"},
                                                          "quoted"),
            (2, {Cover.health: "comfort"}, "adhesion"), (7, {Cover.health: "comfort"}, "signed"),
            (12, {Cover.health: "essential", Cover.prevoyance: "standard"}, "signed")]
    for row, choices, step in plan:
        v = _find(session, file_ref(row))
        s = journey.save_quote(session, v, choices, _spouse(v), today=today, language=v.language, now=now)
        if step == "quoted":
            continue
        t = translator(v.language)
        holder = journey.Holder(v.first_name, v.last_name, v.email, HOLDER_PHONE, "12 rue de la Paix, 75002 Paris")
        journey.start_adhesion(session, s, holder=holder, beneficiaries="Mon conjoint, à défaut mes enfants",
                               start_on=start_window(today, v.mission_start, v.mission_end)[0], accepted=True,
                               today=today, translate=t, broker_name=broker, now=now)
        message = queue_mail("adhesion_terms", to=v.email, locale=v.language, volunteer=v, subscription=s,
                             attachment_ref=f"adhesion-terms:{s.public_id}",
                             link=url_for("volunteer.home", _external=True))
        journey.terms_sent(session, s, message, now=now)
        if step == "signed":
            code = journey.send_signature_code(session, s, now=now)
            journey.sign_adhesion(session, s, journey.Evidence(v.full_name, code, s.document_sha256, "192.0.2.10",
                                                               "Demo browser"),
                                  translate=t, broker_name=broker, seal_config=seal_config, now=now)
    return len(plan)


#: volunteers whose cover is paid by cheque and whose second month is unpaid: (row, days since the first failure)
#: — one past due (reminded), one in litigation
OVERDUE = [(15, 3), (5, 20)]


def _overdue(session: Session, today: date, seal_config) -> int:
    """Two covers started a month and more ago (first month paid by cheque), whose second month is unpaid: the
    recovery run as far as today, so staff see a past-due and a litigation case with what is due."""
    from funnel import activation, collection, dunning
    from funnel.collection_models import PremiumCollection

    from .volunteer.activation import issuer

    finance = session.scalars(select(User).where(User.email == "finance@demo.example")).first()
    broker = current_app.config["BROKER_NAME"]
    for row, days in OVERDUE:
        v = _find(session, file_ref(row))
        opened = today - timedelta(days=days)
        start = add_months(opened, -1)
        then = start - timedelta(days=1)
        at = datetime.combine(then, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
        s = journey.save_quote(session, v, {Cover.health: "essential"}, [], today=then, language=v.language, now=at)
        t = translator(v.language)
        holder = journey.Holder(v.first_name, v.last_name, v.email, HOLDER_PHONE, "12 rue de la Paix, 75002 Paris")
        journey.start_adhesion(session, s, holder=holder, beneficiaries=None, start_on=start, accepted=True,
                               today=then, translate=t, broker_name=broker, now=at)
        journey.terms_sent(session, s, queue_mail("adhesion_terms", to=v.email, locale=v.language, volunteer=v,
                                                  subscription=s, attachment_ref=f"adhesion-terms:{s.public_id}",
                                                  link=url_for("volunteer.home", _external=True)), now=at)
        code = journey.send_signature_code(session, s, now=at)
        journey.sign_adhesion(session, s, journey.Evidence(v.full_name, code, s.document_sha256, "192.0.2.10",
                                                           "Demo browser"),
                              translate=t, broker_name=broker, seal_config=seal_config, now=at)
        activation.record_cheque(session, finance, s, amount_minor=s.monthly_total_minor,
                                 cheque_number=f"DEMO{row:04d}", received_on=then, today=then)
        activation.settle(session, None, s, issuer(s), today=then, now=at)
        m = collection.month_due(s, 1)
        unpaid = PremiumCollection(subscription_id=s.id, month=m.month, period_start=m.period_start,
                                   period_end=m.period_end, amount_minor=m.amount_minor, currency=s.currency,
                                   due_on=m.due_on, attempts=0)
        session.add(unpaid)
        session.flush()
        case = collection.open_case(session, s, unpaid, today=opened)
        for day in (opened, today):
            dunning.advance(session, None, case, issuer, today=day,
                            now=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9))
    return len(OVERDUE)


def load_volunteers(session: Session, seal_config) -> int:
    """The demo roster and subscriptions, once (nothing when the demo roster is there). Returns records made."""
    if _find(session, file_ref(0)) is not None:
        return 0
    now = utcnow()
    today = now.date()
    operator = session.scalars(select(User).where(User.email == OPERATOR)).first()
    with link_context():
        actor = operator.id if operator else None
        result = apply_events(session, _roster_records(today, now), actor_id=actor, now=now)
        made = sum(r.outcome.value == "created" for r in result.results)
        made += _subscriptions(session, today, now, seal_config)
        made += _overdue(session, today, seal_config)
        apply_events(session, _later_records(session, today, now), actor_id=actor, now=now)
        return made


def _demo_token() -> str:
    key = current_app.config["SECRET_KEY"]
    return hmac.new(key.encode() if isinstance(key, str) else key, b"demo volunteer link",
                    hashlib.sha256).hexdigest()


def volunteer_link(session: Session) -> str | None:
    """The demo volunteer's personal link (issued once, through journey.issue_link; again when it expired)."""
    volunteer = _find(session, file_ref(LINK_ROW))
    if volunteer is None:
        return None
    raw = _demo_token()
    link = session.scalars(select(AccessLink).where(AccessLink.token_hash == journey.hash_token(raw))).first()
    if link is None or link.expires_at <= utcnow():
        if link is not None:
            link.token_hash = f"expired-{link.public_id}"
        link, _random = journey.issue_link(session, volunteer)
        link.token_hash = journey.hash_token(raw)  # the demo's token instead of the random one
        session.flush()
    with link_context():
        return url_for("volunteer.open_link", token=raw, _external=True)
