"""When later months are charged, and what follows a failed premium, as product data with plain functions over it.

- A month of cover (from the cover's start day to the same day a month later: `rules.cover_month_period`) is
  charged `lead_days` before its first day (0: on it). The first month is paid on the payment page; the later
  ones by the collection, up to the cover's end (a last part-month prorated: `rules.prorated_period`).
- A failed premium opens a recovery case whose steps fall on days counted from the first failure: reminders by
  e-mail (with a link to update the payment method), retries of the charge, the litigation status for staff, the
  suspension of the cover (`suspend_day`) and its end for non-payment (`end_day`). A step missed because the
  command did not run is done late; of several reminders (or retries) due at once only the latest is done.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .collection_models import DunningKind
from .models import SubscriptionState


@dataclass(frozen=True)
class DunningStep:
    #: stable, recorded on each action done (unique per case)
    code: str
    #: days after the first failure
    day: int
    kind: DunningKind


@dataclass(frozen=True)
class CollectionPlan:
    lead_days: int
    steps: tuple[DunningStep, ...]

    def __post_init__(self):
        days = [s.day for s in self.steps]
        if days != sorted(days) or len({s.code for s in self.steps}) != len(self.steps):
            raise ValueError("the recovery steps are in the order of their days, each code once")
        kinds = [s.kind for s in self.steps]
        if kinds.count(DunningKind.suspension) != 1 or kinds.count(DunningKind.termination) != 1:
            raise ValueError("a plan suspends the cover once and ends it once")
        if self.suspend_day > self.end_day:
            raise ValueError("the cover is suspended before it ends")

    def _day_of(self, kind: DunningKind) -> int:
        return next(s.day for s in self.steps if s.kind is kind)

    @property
    def suspend_day(self) -> int:
        return self._day_of(DunningKind.suspension)

    @property
    def end_day(self) -> int:
        return self._day_of(DunningKind.termination)


#: the sequence the broker runs (the tender's pre-litigation): a reminder at once, a retry on day 5, a second
#: reminder on day 8, a last retry on day 12, litigation with a last notice on day 15, the cover suspended on day
#: 30 and ended for non-payment on day 60
PLAN = CollectionPlan(lead_days=0, steps=(
    DunningStep("d00-reminder", 0, DunningKind.reminder),
    DunningStep("d05-retry", 5, DunningKind.retry),
    DunningStep("d08-reminder", 8, DunningKind.reminder),
    DunningStep("d12-retry", 12, DunningKind.retry),
    DunningStep("d15-litigation", 15, DunningKind.litigation),
    DunningStep("d15-last-notice", 15, DunningKind.reminder),
    DunningStep("d30-suspension", 30, DunningKind.suspension),
    DunningStep("d60-termination", 60, DunningKind.termination),
))

#: the state each step leaves the subscription in (the reminders and retries leave it as it is)
STATE_AFTER = {DunningKind.litigation: SubscriptionState.litigation,
               DunningKind.suspension: SubscriptionState.suspended,
               DunningKind.termination: SubscriptionState.ended_non_payment}


def collection_day(period_start: date, plan: CollectionPlan = PLAN) -> date:
    """The day a month of cover starting on `period_start` is charged."""
    return period_start - timedelta(days=plan.lead_days)


def suspended_from(opened_on: date, plan: CollectionPlan = PLAN) -> date:
    """The first day without cover when nothing is paid: `suspend_day` days after the first failure."""
    return opened_on + timedelta(days=plan.suspend_day)


def ended_on(opened_on: date, plan: CollectionPlan = PLAN) -> date:
    """The day the cover ends for non-payment when nothing is paid: `end_day` days after the first failure."""
    return opened_on + timedelta(days=plan.end_day)


def steps_due(opened_on: date, today: date, done: Sequence[str] = (), plan: CollectionPlan = PLAN
              ) -> list[DunningStep]:
    """The steps to do on `today` for a case opened on `opened_on`, given the codes already `done`: every step
    whose day has come, but a reminder or a retry only when no later one of its kind has come too."""
    elapsed = (today - opened_on).days
    reached = [s for s in plan.steps if s.day <= elapsed]
    due = []
    for i, step in enumerate(reached):
        if step.code in done:
            continue
        if step.kind in (DunningKind.reminder, DunningKind.retry) and any(
                later.kind is step.kind for later in reached[i + 1:]):
            continue
        due.append(step)
    return due


def state_on(opened_on: date, today: date, plan: CollectionPlan = PLAN) -> SubscriptionState:
    """The state an unpaid subscription is in on `today`, its first failure on `opened_on`."""
    state = SubscriptionState.past_due
    for step in plan.steps:
        if step.day <= (today - opened_on).days and step.kind in STATE_AFTER:
            state = STATE_AFTER[step.kind]
    return state
