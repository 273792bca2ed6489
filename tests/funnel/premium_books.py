"""A paid volunteer cover to test the books on, built through the funnel's own functions (no web): the sample
products, a volunteer on mission, the insurer with its 15 % rates, the health and prévoyance top-ups from
8 December 2026 with their first month paid by cheque (so no provider is needed). Used by the funnel's and the
portal's tests of refunds, cheques and the bordereau."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from agreements.certificates import ensure_dev_certificate
from agreements.sealing import SealConfig
from core.contracts import Insurer
from core.products import ProductLine
from funnel import activation, journey
from funnel.catalogue import Cover
from funnel.models import Subscription, SubscriptionState
from funnel.roster import apply_events
from funnel.seed import seed_sample_products
from funnel.volunteers import find_volunteer
from ledger.commissions import set_insurer_rate

TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
INSURER = "VOLUNTEER-TOPUP"


def seal_config(directory) -> SealConfig:
    password = b"premium books seal"
    return SealConfig(str(ensure_dev_certificate(directory / "seal.p12", password)), password)


def add_rates(session) -> None:
    """The funnel's insurer, paying the broker 15 % of each cover's premium."""
    insurer = Insurer(code=INSURER, name="Volunteer top-up insurer")
    session.add(insurer)
    session.flush()
    for line in (ProductLine.volunteer_health_topup, ProductLine.volunteer_prevoyance_topup):
        set_insurer_rate(session, insurer, line, Decimal("0.15"), date(2026, 1, 1), "test")
    session.commit()


def make_issuer(session, seal: SealConfig) -> activation.Issuer:
    add_rates(session)
    return activation.Issuer(translate=lambda text: text, broker_name="BIG", seal_config=seal,
                             insurer_code=INSURER, insurer_name="Volunteer top-up insurer")


def paid_subscription(session, staff, issuer: activation.Issuer, file_ref: str = "BF-2026-990001",
                      products: bool = True) -> Subscription:
    if products:
        seed_sample_products(session)
    record = {"event": "affiliation", "event_id": f"{file_ref}-1", "occurred_at": "2026-11-02T08:00:00Z",
              "file_ref": file_ref, "first_name": "Léa", "last_name": "Martin", "email": f"{file_ref}@example.org",
              "birth_date": "2000-04-02", "programme": "VIE", "mission_country": "US", "mission_start": "2026-11-03",
              "mission_end": "2027-10-31", "language": "fr"}
    assert apply_events(session, [record], now=NOW).results[0].outcome.value == "created"
    volunteer = find_volunteer(session, file_ref=file_ref)
    s = journey.save_quote(session, volunteer, {Cover.health: "essential", Cover.prevoyance: "standard"}, [],
                           today=TODAY, language="fr", now=NOW)
    s.state = SubscriptionState.signed  # the signature is not the subject here
    session.commit()
    activation.record_cheque(session, staff, s, amount_minor=s.monthly_total_minor, cheque_number="100 001",
                             received_on=TODAY, today=TODAY, bank="Banque Postale")
    activation.settle(session, None, s, issuer, today=TODAY)
    session.commit()
    assert s.state is SubscriptionState.active and s.start_on == date(2026, 12, 8)
    return s


def radiation(file_ref: str, end_date: str, n: int = 2) -> dict:
    return {"event": "radiation", "event_id": f"{file_ref}-{n}", "occurred_at": "2026-11-25T08:00:00Z",
            "file_ref": file_ref, "end_date": end_date}
