"""The commission world the ledger tests share: an insurer with a rate, a firm's agreement, a placed contract."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from agreements.models import Agreement, AgreementKind, AgreementStatus, CommissionRule
from core import events
from core.contracts import Contract, ContractStatus, ContractTerm, Insurer
from core.products import ProductLine
from ledger import commissions

SINCE = date(2026, 1, 1)


def add_insurer(session, code="allianz-care", name="Allianz Care", rate="0.1500", since=SINCE) -> Insurer:
    """An insurer paying `rate` of the premium on family cover from `since` (committed)."""
    insurer = Insurer(code=code, name=name)
    session.add(insurer)
    session.flush()
    commissions.set_insurer_rate(session, insurer, ProductLine.family, Decimal(rate), since, "finance")
    session.commit()
    return insurer


def add_agreement(session, org, *, first_year="0.40", renewal="0.20", clawback_days=365, since=SINCE,
                  until=None, payment_terms_days=0, payment_terms_basis=None) -> Agreement:
    """The firm's agreement on family cover: its share of the broker's commission (terminated on `until`),
    payable from the end of the statement's month (plus `payment_terms_days`; or from `payment_terms_basis`)."""
    agreement = Agreement(reference=f"AG-{org.id}", organisation_id=org.id, kind=AgreementKind.collaboration,
                          template_version="2026-11", language="en",
                          status=AgreementStatus.terminated if until else AgreementStatus.active,
                          effective_from=since, effective_to=until)
    rule = CommissionRule(product_line=ProductLine.family, first_year_rate=Decimal(first_year),
                          renewal_rate=Decimal(renewal), currency="EUR", clawback_days=clawback_days,
                          payment_terms_days=payment_terms_days)
    if payment_terms_basis is not None:
        rule.payment_terms_basis = payment_terms_basis
    agreement.rules.append(rule)
    session.add(agreement)
    return agreement


def place(session, insurer, org, *, policy, placed_by_id, premium=1_000_000, start, currency="EUR",
          case_id=None, **payload) -> tuple[Contract, events.BusinessEvent]:
    """A one-year family contract of `org` (a firm, its id, or None) placed on `start`, and its contract.placed
    event with `payload` added (flushed, not posted)."""
    contract = Contract(organisation_id=getattr(org, "id", org), insurer_id=insurer.id, policy_number=policy,
                        case_id=case_id, product_line=ProductLine.family, premium_minor=premium, currency=currency,
                        start_date=start, status=ContractStatus.in_force, placed_by_id=placed_by_id)
    contract.terms.append(ContractTerm(number=1, start_date=start,
                                       end_date=start.replace(year=start.year + 1) - timedelta(days=1),
                                       premium_minor=premium))
    session.add(contract)
    session.flush()
    event = events.emit(session, events.CONTRACT_PLACED, contract.public_id, start, premium_minor=premium,
                        currency=currency, term=1, **payload)
    return contract, event


def place_and_post(session, insurer, org, *, release_on=None, **place_kw) -> Contract:
    """`place`, its commission posted on the start date and, on `release_on`, the disclosure released (committed)."""
    contract, event = place(session, insurer, org, **place_kw)
    commissions.post_event(session, event, today=contract.start_date)
    if release_on is not None:
        commissions.release_disclosure(session, contract, today=release_on, released_by="compliance")
    session.commit()
    return contract
