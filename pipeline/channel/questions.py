"""The underwriting questions the client answers through the secure channel: a short structured form about the
people to insure, kept encrypted with the case keys (as the specialist's underwriting text is)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.i18n import N_

from ..cases import crypto
from .errors import ChannelRefused
from .links import check_reader
from .models import HealthAnswers, HealthLink

DETAILS_MAX = 2000


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    #: a "yes" must say more in the details
    details_on_yes: bool = True


QUESTIONS = (
    Question("treatment", N_("Is anyone to be insured receiving medical treatment or taking medication?")),
    Question("hospital", N_("Has anyone to be insured been in hospital or had surgery in the last five years?")),
    Question("chronic", N_("Does anyone to be insured have a long-term (chronic) condition?")),
    Question("pregnancy", N_("Is anyone to be insured pregnant?")),
    Question("smoker", N_("Does anyone to be insured smoke or vape?"), details_on_yes=False),
)
OTHER = "other"
OTHER_TEXT = N_("Anything else the insurer should know (optional)")


def details_field(question: Question) -> str:
    return f"{question.key}_details"


def check_answers(answers: Mapping[str, bool | None], details: Mapping[str, str | None], other: str | None) -> dict:
    """The answers as kept (JSON), or ChannelRefused naming each field to correct."""
    problems: dict[str, list[str]] = {}
    kept: dict = {}
    for question in QUESTIONS:
        answer = answers.get(question.key)
        text = (details.get(question.key) or "").strip()
        if answer is None:
            problems[question.key] = [N_("Answer yes or no.")]
            continue
        if answer and question.details_on_yes and len(text) < 3:
            problems[details_field(question)] = [N_("Say who, and what (a few words are enough).")]
        if len(text) > DETAILS_MAX:
            problems[details_field(question)] = [N_("Keep it under 2,000 characters.")]
        kept[question.key] = {"answer": bool(answer), "details": text or None}
    other = (other or "").strip()
    if len(other) > DETAILS_MAX:
        problems[OTHER] = [N_("Keep it under 2,000 characters.")]
    kept[OTHER] = other or None
    if problems:
        raise ChannelRefused(N_("Some answers need your attention."), fields=problems)
    return kept


def save_answers(session: Session, link: HealthLink, *, answers: Mapping[str, bool | None],
                 details: Mapping[str, str | None], other: str | None, keys: str, ip: str | None = None,
                 now: datetime | None = None) -> HealthAnswers:
    """Keep the client's answers (a new submission; the latest is the one that counts)."""
    kept = check_answers(answers, details, other)
    row = HealthAnswers(case_id=link.case_id, link_id=link.id, created_at=now or utcnow(),
                        answers_encrypted=crypto.encrypt(json.dumps(kept, sort_keys=True), keys))
    session.add(row)
    session.flush()
    audit.record(session, "health_answers.received", subject=link.case, ip=ip, answers=row.public_id)
    return row


def answers_of(session: Session, case) -> list[HealthAnswers]:
    return list(session.scalars(select(HealthAnswers).where(HealthAnswers.case_id == case.id)
                                .order_by(HealthAnswers.id.desc())))


def read_answers(actor, row: HealthAnswers, keys: str) -> dict | None:
    """The answers for one of their readers (None once purged)."""
    check_reader(actor)
    text = crypto.decrypt(row.answers_encrypted, keys)
    return None if text is None else json.loads(text)
