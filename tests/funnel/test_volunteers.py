"""The dependants a volunteer declares, and quoting a volunteer with those chosen."""
from datetime import date

import pytest

from funnel.catalogue import Cover, PersonCategory
from funnel.errors import DeclarationRefused, QuoteRefused
from funnel.models import DependantSource
from funnel.money import Money
from funnel.quotes import quote_for_volunteer
from funnel.volunteers import declare_dependant

TODAY = date(2026, 11, 20)


def test_a_declared_child_is_recorded_beside_the_rosters_spouse(session, make_volunteer):
    volunteer = make_volunteer(dependants=[{"category": "spouse", "birth_date": "1999-07-14"}])
    child = declare_dependant(session, volunteer, PersonCategory.child, date(2026, 11, 1), declared_on=TODAY,
                              event_date=date(2026, 11, 1), first_name="Lou")
    assert (child.source, child.event_date, child.declared_on) == (DependantSource.volunteer, date(2026, 11, 1),
                                                                    TODAY)
    assert [d.category for d in volunteer.current_dependants] == [PersonCategory.spouse, PersonCategory.child]


@pytest.mark.parametrize("category,birth,event,field", [
    (PersonCategory.spouse, date(1998, 1, 1), None, "category"),  # a second spouse
    (PersonCategory.volunteer, date(1998, 1, 1), None, "category"),
    (PersonCategory.child, date(2026, 12, 1), None, "birth_date"),
    (PersonCategory.child, date(2026, 5, 1), date(2026, 4, 1), "event_date"),
    (PersonCategory.child, date(2026, 5, 1), date(2026, 12, 1), "event_date"),
])
def test_a_declaration_that_cannot_be_is_refused_by_field(session, make_volunteer, category, birth, event, field):
    volunteer = make_volunteer(dependants=[{"category": "spouse", "birth_date": "1999-07-14"}])
    with pytest.raises(DeclarationRefused) as caught:
        declare_dependant(session, volunteer, category, birth, declared_on=TODAY, event_date=event)
    assert list(caught.value.fields) == [field]


def test_a_volunteer_is_quoted_with_the_dependants_chosen(session, products, make_volunteer):
    volunteer = make_volunteer(mission_country="SN", dependants=[{"category": "spouse", "birth_date": "1999-07-14"},
                                                                 {"category": "child", "birth_date": "2024-03-01"}])
    spouse, child = volunteer.current_dependants
    quote = quote_for_volunteer(session, volunteer, {Cover.health: "essential", Cover.prevoyance: "standard"},
                                subscribed_on=TODAY, dependants=[child])
    health = quote.cover(Cover.health)
    assert [(p.insured.category, p.insured.ref, p.monthly.minor) for p in health.persons] == [
        (PersonCategory.volunteer, volunteer.public_id, 2600), (PersonCategory.child, child.public_id, 1500)]
    assert quote.monthly_total == Money("EUR", 2600 + 1500 + 900)


def test_someone_elses_dependant_cannot_be_quoted(session, products, make_volunteer):
    other = make_volunteer(dependants=[{"category": "child", "birth_date": "2024-03-01"}])
    volunteer = make_volunteer()
    with pytest.raises(QuoteRefused) as caught:
        quote_for_volunteer(session, volunteer, {Cover.health: "essential"}, subscribed_on=TODAY,
                            dependants=other.current_dependants)
    assert "persons" in caught.value.fields


def test_an_ended_mission_cannot_be_quoted(session, products, make_volunteer):
    volunteer = make_volunteer(mission_end="2026-11-20")
    with pytest.raises(QuoteRefused) as caught:
        quote_for_volunteer(session, volunteer, {Cover.health: "essential"}, subscribed_on=TODAY)
    assert "start_date" in caught.value.fields
