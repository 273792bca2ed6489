"""The programme's integration campaign, step by step, as data: when each e-mail is due (days or months from the
mission's start, or days before its end), who it is for, what it promotes, and the open rate the programme
reported for it (so that our own figures are read next to theirs).

Why a data module and not a table: each step names its fr/en templates (files under
portal/templates/email/campaign/), and a step without its templates, or a template without its step, is a bug
the tests catch; they change together, in one reviewed commit. The sends (`campaign_sends`) refer to a step by
its stable `code`, never by a row id, so a new step is a new code and a retired one stays readable in the history.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta

from core.i18n import N_

from .catalogue import Cover
from .dates import add_months

#: a run computes the same few hundred mission starts' month offsets for thousands of volunteers
_months_after = lru_cache(maxsize=8192)(add_months)

#: the campaign's languages (its templates are content, written per language); anyone else reads English
CAMPAIGN_LANGUAGES = ("fr", "en")
#: a step missed because the command did not run is still sent this many days after it fell due
DEFAULT_CATCH_UP_DAYS = 3

#: malaria-endemic mission countries (ISO 3166-1 alpha-2; WHO World Malaria Report list, abridged to countries
#: where volunteers are posted): the malaria awareness step goes to these only
MALARIA_COUNTRIES = frozenset({
    "AO", "BF", "BI", "BJ", "CD", "CF", "CG", "CI", "CM", "DJ", "ER", "ET", "GA", "GH", "GM", "GN", "GQ", "GW",
    "KE", "KM", "LR", "MG", "ML", "MR", "MW", "MZ", "NE", "NG", "RW", "SD", "SL", "SN", "SO", "SS", "TD", "TG",
    "TZ", "UG", "ZM", "ZW", "BD", "IN", "ID", "KH", "LA", "MM", "PG", "PK", "PH", "TH", "VN", "BO", "BR", "CO",
    "EC", "GF", "GY", "HN", "HT", "NI", "PE", "PA", "SR", "VE", "GT"})


class Anchor(enum.Enum):
    """What a step's offset counts from."""

    mission_start = "mission_start"
    mission_end = "mission_end"


class Audience(enum.Enum):
    """Who a step is for, besides the rules every step shares (on mission, not unsubscribed, not erased)."""

    everyone = "everyone"
    us_missions = "us_missions"
    malaria_zones = "malaria_zones"

    @property
    def label(self) -> str:
        return AUDIENCE_LABELS[self]

    def includes(self, mission_country: str) -> bool:
        if self is Audience.us_missions:
            return mission_country == "US"
        if self is Audience.malaria_zones:
            return mission_country in MALARIA_COUNTRIES
        return True


AUDIENCE_LABELS = {
    Audience.everyone: N_("Every volunteer on mission"),
    Audience.us_missions: N_("Missions in the United States"),
    Audience.malaria_zones: N_("Missions in a malaria zone"),
}


@dataclass(frozen=True)
class CampaignStep:
    #: stable reference kept by each send and funnel event (never reused for another content)
    code: str
    label: str
    anchor: Anchor
    days: int = 0
    months: int = 0
    audience: Audience = Audience.everyone
    #: the cover it offers: a volunteer who already holds it is skipped
    promotes: Cover | None = None
    #: the e-mail carries the volunteer's personal quote link (a new link, an "invited" funnel event)
    personal_link: bool = False
    #: the open rate the programme reported for this e-mail, in percent (None: not in the programme's plan)
    programme_open_rate: int | None = None

    def due_on(self, mission_start: date, mission_end: date) -> date:
        if self.anchor is Anchor.mission_end:
            return mission_end + timedelta(days=self.days)
        return _months_after(mission_start, self.months) + timedelta(days=self.days)

    @property
    def offset_label(self) -> str:
        """J+10, M+1, or "end − 8 days", as the programme writes them."""
        if self.anchor is Anchor.mission_end:
            return f"end {self.days:+d} d"
        return f"M+{self.months}" if self.months else f"J+{self.days}"

    def template(self, language: str) -> str:
        """The template (under portal/templates/email/) of this step in `language`."""
        return f"campaign/{self.code}.{campaign_language(language)}"


def campaign_language(language: str | None) -> str:
    language = (language or "")[:2].lower()
    return language if language in CAMPAIGN_LANGUAGES else "en"


PLAN: tuple[CampaignStep, ...] = (
    CampaignStep("d05-online-services", N_("Online services"), Anchor.mission_start, days=5,
                 programme_open_rate=78),
    CampaignStep("d10-top-up", N_("The top-up health cover"), Anchor.mission_start, days=10,
                 promotes=Cover.health, personal_link=True, programme_open_rate=74),
    CampaignStep("d15-us-care", N_("The care pathway in the United States"), Anchor.mission_start, days=15,
                 audience=Audience.us_missions, programme_open_rate=83),
    CampaignStep("d15-malaria", N_("Malaria awareness"), Anchor.mission_start, days=15,
                 audience=Audience.malaria_zones, programme_open_rate=77),
    CampaignStep("d20-top-up-reminder", N_("Reminder: the top-up health cover"), Anchor.mission_start, days=20,
                 promotes=Cover.health, personal_link=True),
    CampaignStep("d25-dependants", N_("Registering dependants"), Anchor.mission_start, days=25,
                 programme_open_rate=70),
    CampaignStep("m1-housing", N_("Housing insurance reminder"), Anchor.mission_start, months=1,
                 programme_open_rate=70),
    CampaignStep("d45-health-habits", N_("Good health habits"), Anchor.mission_start, days=45,
                 programme_open_rate=66),
    CampaignStep("m2-teleconsultation", N_("Teleconsultation"), Anchor.mission_start, months=2,
                 programme_open_rate=67),
    CampaignStep("d75-psychological-support", N_("Psychological support"), Anchor.mission_start, days=75,
                 programme_open_rate=61),
    CampaignStep("m3-beneficiary", N_("Designating a beneficiary (the prévoyance top-up)"), Anchor.mission_start,
                 months=3, promotes=Cover.prevoyance, personal_link=True, programme_open_rate=56),
    CampaignStep("end-8-after-mission", N_("Insurance after the mission"), Anchor.mission_end, days=-8),
)

STEPS: dict[str, CampaignStep] = {step.code: step for step in PLAN}


def step(code: str) -> CampaignStep:
    """The step with this code (KeyError for an unknown one)."""
    return STEPS[code]
