"""A volunteer's own records: found by file reference or public id, and the dependants they declare themselves
(the roster may carry them or not)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import N_

from .catalogue import DEPENDANT_CATEGORIES, PersonCategory
from .errors import DeclarationRefused, VolunteerNotFound
from .models import Dependant, DependantSource, Volunteer
from .roster_input import DEPENDANT_CATEGORY, TWO_SPOUSES


def find_volunteer(session: Session, *, file_ref: str | None = None, public_id: str | None = None) -> Volunteer:
    """The volunteer with this file reference or public id; VolunteerNotFound otherwise."""
    column, value = (Volunteer.file_ref, file_ref) if file_ref is not None else (Volunteer.public_id, public_id)
    volunteer = session.scalars(select(Volunteer).where(column == value)).first()
    if volunteer is None:
        raise VolunteerNotFound(ref=value or "")
    return volunteer


def declaration_problems(volunteer: Volunteer, category: PersonCategory, birth_date: date, *, declared_on: date,
                         event_date: date | None = None) -> dict[str, list[str]]:
    """{field: [msgid]} for what stops this dependant being recorded as given (empty: nothing)."""
    fields = {}
    if category not in DEPENDANT_CATEGORIES:
        fields["category"] = [DEPENDANT_CATEGORY.message]
    if birth_date > declared_on:
        fields["birth_date"] = [N_("A birth date cannot be in the future.")]
    if event_date is not None and not birth_date <= event_date <= declared_on:
        fields["event_date"] = [N_("The event's date is between the birth date and today.")]
    if category is PersonCategory.spouse and any(
            d.category is PersonCategory.spouse for d in volunteer.current_dependants):
        fields["category"] = [TWO_SPOUSES.message]
    return fields


def declare_dependant(session: Session, volunteer: Volunteer, category: PersonCategory, birth_date: date, *,
                      declared_on: date, event_date: date | None = None, first_name: str | None = None,
                      last_name: str | None = None) -> Dependant:
    """Record a spouse, partner or child the volunteer declares. `event_date` is the birth, adoption, marriage...
    that made them a dependant, when it came after the volunteer subscribed: their cover then starts as
    funnel.rules.dependant_covered_from says. Eligibility is confirmed separately (funnel.eligibility)."""
    fields = declaration_problems(volunteer, category, birth_date, declared_on=declared_on, event_date=event_date)
    if fields:
        raise DeclarationRefused(N_("This dependant cannot be recorded as given."), fields=fields)
    dependant = Dependant(volunteer=volunteer, category=category, birth_date=birth_date, first_name=first_name,
                          last_name=last_name, source=DependantSource.volunteer, event_date=event_date,
                          declared_on=declared_on)
    session.add(dependant)
    session.flush()
    return dependant
