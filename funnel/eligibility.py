"""Who may be covered as a dependant, per the programme's rules, asked as yes/no confirmations.

A partner is the spouse, a PACS partner, or a partner who has lived with the volunteer for at least 3 months
and is fully dependent on them (with proof); a child is unmarried and dependent for tax purposes. Every
dependant has no salaried work, is not a national of the mission country, and lives with the volunteer in the
mission country (or joins them there within 3 months). The quote asks `confirmations_for` the dependant and
checks the answers with `check_dependant`; a "no" (or no answer) names what the rule requires.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping

from core.i18n import N_

from .catalogue import PersonCategory
from .errors import DependantNotEligible


class Relationship(enum.Enum):
    """How a partner is related to the volunteer."""

    married = "married"
    pacs = "pacs"
    cohabiting = "cohabiting"

    @property
    def label(self) -> str:
        return RELATIONSHIP_LABELS[self]


RELATIONSHIP_LABELS = {
    Relationship.married: N_("Spouse (married)"),
    Relationship.pacs: N_("PACS partner (civil partnership)"),
    Relationship.cohabiting: N_("Partner living with the volunteer"),
}


class Confirmation(enum.Enum):
    lived_together_3_months = "lived_together_3_months"
    fully_dependent = "fully_dependent"
    proof_of_cohabitation = "proof_of_cohabitation"
    unmarried = "unmarried"
    tax_dependent = "tax_dependent"
    no_salaried_work = "no_salaried_work"
    not_national_of_mission_country = "not_national_of_mission_country"
    lives_in_mission_country = "lives_in_mission_country"

    @property
    def question(self) -> str:
        return QUESTIONS[self]

    @property
    def requirement(self) -> str:
        """What the rule requires, shown when the answer is not yes."""
        return REQUIREMENTS[self]


QUESTIONS = {
    Confirmation.lived_together_3_months: N_("You have lived together for at least 3 months."),
    Confirmation.fully_dependent: N_("Your partner is fully dependent on you financially."),
    Confirmation.proof_of_cohabitation: N_("You can provide proof that you live together (for instance a "
                                           "certificate of cohabitation)."),
    Confirmation.unmarried: N_("The child is not married."),
    Confirmation.tax_dependent: N_("The child is your dependant for tax purposes."),
    Confirmation.no_salaried_work: N_("This person has no salaried work."),
    Confirmation.not_national_of_mission_country: N_("This person is not a national of the mission country."),
    Confirmation.lives_in_mission_country: N_("This person lives with you in the mission country, or will join "
                                              "you there within 3 months."),
}

REQUIREMENTS = {
    Confirmation.lived_together_3_months: N_("A partner who is neither your spouse nor your PACS partner must "
                                             "have lived with you for at least 3 months."),
    Confirmation.fully_dependent: N_("A partner who is neither your spouse nor your PACS partner must be fully "
                                     "dependent on you."),
    Confirmation.proof_of_cohabitation: N_("Living together must be proven (for instance by a certificate of "
                                           "cohabitation)."),
    Confirmation.unmarried: N_("Only unmarried children can be covered."),
    Confirmation.tax_dependent: N_("Only children who are your dependants for tax purposes can be covered."),
    Confirmation.no_salaried_work: N_("A dependant with salaried work cannot be covered."),
    Confirmation.not_national_of_mission_country: N_("A national of the mission country cannot be covered as "
                                                     "a dependant."),
    Confirmation.lives_in_mission_country: N_("A dependant must live with you in the mission country, or join "
                                              "you there within 3 months."),
}

EVERY_DEPENDANT = (Confirmation.no_salaried_work, Confirmation.not_national_of_mission_country,
                   Confirmation.lives_in_mission_country)
COHABITING = (Confirmation.lived_together_3_months, Confirmation.fully_dependent,
              Confirmation.proof_of_cohabitation)
CHILD = (Confirmation.unmarried, Confirmation.tax_dependent)
RELATIONSHIP_REQUIRED = N_("Say how your partner is related to you: spouse, PACS partner or partner living with "
                           "you.")


def confirmations_for(category: PersonCategory, relationship: Relationship | None = None
                      ) -> tuple[Confirmation, ...]:
    """The yes/no questions the quote asks about a dependant, in the order to show them."""
    if category is PersonCategory.child:
        return CHILD + EVERY_DEPENDANT
    if category is PersonCategory.spouse:
        return (COHABITING if relationship is Relationship.cohabiting else ()) + EVERY_DEPENDANT
    raise ValueError("the volunteer is not a dependant")


def eligibility_problems(category: PersonCategory, relationship: Relationship | None,
                         answers: Mapping[Confirmation, bool], *, prefix: str = "") -> dict[str, list[str]]:
    """{field: [requirement]} for each confirmation not answered yes (empty: eligible). Fields are named
    `<prefix>relationship` and `<prefix><confirmation>`."""
    problems = {}
    if category is PersonCategory.spouse and relationship is None:
        problems[f"{prefix}relationship"] = [RELATIONSHIP_REQUIRED]
    for confirmation in confirmations_for(category, relationship):
        if answers.get(confirmation) is not True:
            problems[f"{prefix}{confirmation.value}"] = [confirmation.requirement]
    return problems


def check_dependant(category: PersonCategory, relationship: Relationship | None,
                    answers: Mapping[Confirmation, bool], *, prefix: str = "") -> None:
    """DependantNotEligible naming every unmet condition, or nothing when the dependant may be covered."""
    problems = eligibility_problems(category, relationship, answers, prefix=prefix)
    if problems:
        raise DependantNotEligible(N_("This person cannot be covered as a dependant under the programme's "
                                      "rules."), fields=problems)
