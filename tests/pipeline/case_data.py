"""Valid service inputs for cases and leads, shared by the pipeline tests and the case web and API tests."""
from datetime import timedelta

from core.accounts import CommunicationModel
from core.db import utcnow
from core.products import ProductLine
from pipeline.cases import crossborder, needs
from pipeline.cases.models import BudgetBand, CaseStatus
from pipeline.cases.pipeline import move
from pipeline.cases.services import CaseInput
from pipeline.leads.services import ConsentInput, LeadInput


def consent(cc: bool = True) -> ConsentInput:
    return ConsentInput(share_with_broker=True, cc_on_milestones=cc, text_version="2026-11",
                        given_at=utcnow() - timedelta(days=1))


def case_input(first_name: str = "Marc", *, cc: bool = True, model: CommunicationModel = CommunicationModel.broker_leads,
               **changes) -> CaseInput:
    """The case of `first_name` Dupont (e-mail `<first name>@example.org`), a family of three moving to the UAE."""
    values = dict(client_first_name=first_name, client_last_name="Dupont",
                  client_email=f"{first_name.lower()}@example.org", client_phone="+33612345678", adults=2, children=1,
                  ages=[41, 39, 7], nationality="FR", country_of_residence="AE", travel_countries=["FR", "TH"],
                  start_date=utcnow().date() + timedelta(days=30), product_line=ProductLine.family,
                  budget_band=BudgetBand.from_6000_to_12000, current_cover=None, renewal_date=None,
                  communication_model=model, language="en", consent=consent(cc))
    values.update(changes)
    return CaseInput(**values)


def lead_input(first_name: str = "Ana", *, cc: bool = True, **changes) -> LeadInput:
    """The referral of `first_name` Silva (e-mail `<first name>@example.org`, no phone), moving to Lisbon."""
    values = dict(first_name=first_name, last_name="Silva", email=f"{first_name.lower()}@example.org", phone=None,
                  country_of_residence="PT", timeline="asap", need_category="family_relocation",
                  need_summary="Family of four moving to Lisbon, needs international health cover",
                  language="en", consent=consent(cc))
    values.update(changes)
    return LeadInput(**values)


def needs_input(**changes) -> needs.NeedsInput:
    """A complete demands and needs statement (no medical information, no rates)."""
    values = dict(needs="Family cover for a posting in Dubai: inpatient and outpatient, evacuation.",
                  budget_minor=900_000, budget_currency="EUR", countries=["AE", "FR"],
                  chosen_cover="Allianz Care Premier, worldwide excluding the USA.",
                  reasons="Covers the family in the UAE and on home visits to France, within budget.")
    values.update(changes)
    return needs.NeedsInput(**values)


def record_needs(session, user, case, **changes) -> needs.NeedsStatement:
    """The account manager records the case's demands and needs statement (committed), as before an offer."""
    statement = needs.record(session, user, case, needs_input(**changes))
    session.commit()
    return statement


def walk(session, user, case, *stages, **kw) -> None:
    """Move `case` through `stages` as `user` (`pipeline.cases.pipeline.move`), committing each move. Before the
    offer, the account manager records the local licensing consideration of a client outside the EU/EEA (the
    default case's client lives in the UAE) and the demands and needs statement when the case has none, as the
    pipeline asks."""
    for stage in stages:
        if stage is CaseStatus.offer:
            check_local_licensing(session, user, case)
            if needs.current(session, case) is None:
                record_needs(session, user, case)
        move(session, user, case, stage, **kw)
        session.commit()


def check_local_licensing(session, user, case) -> None:
    """Record the local licensing consideration of `case` if it awaits one (outside the EU/EEA)."""
    check = crossborder.check_of(session, case)
    if check is not None and check.pending and check.outcome is crossborder.O.outside_eea:
        crossborder.record_local_licensing(session, user, case, consideration="UAE: cover placed from abroad "
                                           "allowed for expatriates (checked with the insurer)")
        session.commit()
