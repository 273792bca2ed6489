"""What the products are made of, with their labels: the covers, who they can cover, the formulas and guarantees
a tariff grid may use, the programmes. The prices, limits and waiting periods are data (`funnel.grid`); the
names are here, marked for translation, so that every grid reads the same in the six languages."""
from __future__ import annotations

import enum

from core.i18n import N_


class PersonCategory(enum.Enum):
    volunteer = "volunteer"
    spouse = "spouse"
    child = "child"

    @property
    def label(self) -> str:
        return PERSON_CATEGORY_LABELS[self]


PERSON_CATEGORY_LABELS = {
    PersonCategory.volunteer: N_("Volunteer"),
    PersonCategory.spouse: N_("Spouse or partner"),
    PersonCategory.child: N_("Child"),
}
DEPENDANT_CATEGORIES = (PersonCategory.spouse, PersonCategory.child)


class Cover(enum.Enum):
    """The two optional covers offered over the programme's mandatory plan, both without medical questionnaire."""

    health = "health"
    prevoyance = "prevoyance"

    @property
    def label(self) -> str:
        return COVER_LABELS[self]

    @property
    def zoned(self) -> bool:
        """The premium depends on the mission country's zone (the health top-up) or on the formula alone."""
        return self is Cover.health

    @property
    def categories(self) -> tuple[PersonCategory, ...]:
        """Who the cover can insure: the volunteer and their family, or the volunteer only."""
        return tuple(PersonCategory) if self is Cover.health else (PersonCategory.volunteer,)


COVER_LABELS = {
    Cover.health: N_("Health top-up (surcomplémentaire santé)"),
    Cover.prevoyance: N_("Death and disability top-up (renfort prévoyance)"),
}

ZONES = (1, 2, 3)

#: the formulas a grid may offer, by code
FORMULA_LABELS = {
    "essential": N_("Essential"),
    "comfort": N_("Comfort"),
    "integral": N_("Integral"),
    "standard": N_("Standard"),
    "extended": N_("Extended"),
}


class Guarantee(enum.Enum):
    """A line of a guarantee table; each belongs to one cover."""

    hospital = "hospital"
    private_room = "private_room"
    doctors = "doctors"
    pharmacy = "pharmacy"
    dental = "dental"
    optical = "optical"
    maternity = "maternity"
    alternative_medicine = "alternative_medicine"
    death = "death"
    permanent_disability = "permanent_disability"
    accidental_death = "accidental_death"

    @property
    def label(self) -> str:
        return GUARANTEE_LABELS[self]

    @property
    def cover(self) -> Cover:
        return Cover.prevoyance if self in PREVOYANCE_GUARANTEES else Cover.health


PREVOYANCE_GUARANTEES = frozenset({Guarantee.death, Guarantee.permanent_disability, Guarantee.accidental_death})

GUARANTEE_LABELS = {
    Guarantee.hospital: N_("Hospital stays"),
    Guarantee.private_room: N_("Private room"),
    Guarantee.doctors: N_("Doctors and specialists"),
    Guarantee.pharmacy: N_("Medicines"),
    Guarantee.dental: N_("Dental care"),
    Guarantee.optical: N_("Glasses and contact lenses"),
    Guarantee.maternity: N_("Maternity"),
    Guarantee.alternative_medicine: N_("Alternative medicine"),
    Guarantee.death: N_("Death: lump sum"),
    Guarantee.permanent_disability: N_("Total and permanent disability: lump sum"),
    Guarantee.accidental_death: N_("Accidental death: additional lump sum"),
}


class LimitBasis(enum.Enum):
    """What a guarantee's amount is counted over."""

    per_year = "per_year"
    per_event = "per_event"
    per_day = "per_day"
    lump_sum = "lump_sum"

    @property
    def label(self) -> str:
        return LIMIT_BASIS_LABELS[self]


LIMIT_BASIS_LABELS = {
    LimitBasis.per_year: N_("per year"),
    LimitBasis.per_event: N_("per event"),
    LimitBasis.per_day: N_("per day"),
    LimitBasis.lump_sum: N_("lump sum"),
}


class Programme(enum.Enum):
    VIE = "VIE"
    VIA = "VIA"

    @property
    def label(self) -> str:
        return PROGRAMME_LABELS[self]


PROGRAMME_LABELS = {
    Programme.VIE: N_("V.I.E (international volunteer in a company)"),
    Programme.VIA: N_("V.I.A (international volunteer in an administration)"),
}
