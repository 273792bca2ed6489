"""Dependants the programme allows, asked as yes/no confirmations; every "no" names the rule (no database)."""
import pytest

from funnel.catalogue import PersonCategory
from funnel.eligibility import (Confirmation, Relationship, check_dependant, confirmations_for,
                                eligibility_problems)
from funnel.errors import DependantNotEligible

C = Confirmation
EVERYONE = [C.no_salaried_work, C.not_national_of_mission_country, C.lives_in_mission_country]


def yes(*confirmations):
    return {c: True for c in confirmations}


def test_a_married_or_pacs_partner_is_asked_only_what_every_dependant_is():
    for relationship in (Relationship.married, Relationship.pacs):
        assert list(confirmations_for(PersonCategory.spouse, relationship)) == EVERYONE


def test_a_partner_living_with_the_volunteer_is_asked_three_more_things():
    assert list(confirmations_for(PersonCategory.spouse, Relationship.cohabiting)) == [
        C.lived_together_3_months, C.fully_dependent, C.proof_of_cohabitation, *EVERYONE]


def test_a_child_is_asked_whether_unmarried_and_tax_dependent():
    assert list(confirmations_for(PersonCategory.child)) == [C.unmarried, C.tax_dependent, *EVERYONE]


def test_the_volunteer_is_not_a_dependant():
    with pytest.raises(ValueError):
        confirmations_for(PersonCategory.volunteer)


def test_all_yes_is_eligible():
    check_dependant(PersonCategory.child, None, yes(*confirmations_for(PersonCategory.child)))
    cohabiting = confirmations_for(PersonCategory.spouse, Relationship.cohabiting)
    check_dependant(PersonCategory.spouse, Relationship.cohabiting, yes(*cohabiting))


@pytest.mark.parametrize("missing", list(confirmations_for(PersonCategory.spouse, Relationship.cohabiting)))
def test_each_unmet_condition_of_a_partner_is_named(missing):
    answers = yes(*confirmations_for(PersonCategory.spouse, Relationship.cohabiting))
    answers[missing] = False
    with pytest.raises(DependantNotEligible) as caught:
        check_dependant(PersonCategory.spouse, Relationship.cohabiting, answers, prefix="persons.1.")
    assert caught.value.fields == {f"persons.1.{missing.value}": [missing.requirement]}


def test_an_unanswered_question_is_not_a_yes():
    problems = eligibility_problems(PersonCategory.child, None, {C.unmarried: True})
    assert set(problems) == {"tax_dependent", "no_salaried_work", "not_national_of_mission_country",
                             "lives_in_mission_country"}
    assert problems["no_salaried_work"] == ["A dependant with salaried work cannot be covered."]


def test_a_partner_must_say_how_they_are_related():
    problems = eligibility_problems(PersonCategory.spouse, None, yes(*EVERYONE))
    assert list(problems) == ["relationship"]


def test_every_confirmation_has_a_question_and_a_requirement():
    for confirmation in Confirmation:
        assert confirmation.question.endswith(".") and confirmation.requirement.endswith(".")
