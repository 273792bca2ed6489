"""The 2026-12 templates state each product line's payment terms, with their days and what they count from, in all
six languages; agreements prepared from now on use them, while an agreement signed under an earlier version keeps
it, word for word."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agreements import operations, templates
from agreements.models import PaymentTermsBasis
from agreements.operations import RuleValues
from agreements.sealing import check_seal
from core.accounts import PartnerStatus
from core.products import ProductLine
from tests.agreements.conftest import BROKER
from tests.agreements.pdftools import pages_text, squash

LABELS = Path(__file__).resolve().parents[2] / "agreements" / "templates" / "_labels"
OLD_SENTENCE = "Payments are made by bank transfer within the payment terms stated, against a monthly statement."


def label(language: str, key: str) -> str:
    prefix = f"@label {key} "
    return next(line[len(prefix):] for line in (LABELS / f"{language}.txt").read_text(encoding="utf-8").splitlines()
                if line.startswith(prefix))


def rules(status: PartnerStatus) -> list[RuleValues]:
    pay = (dict(one_off_fee_minor=15000) if status is PartnerStatus.introducer
           else dict(first_year_rate=Decimal("0.30"), renewal_rate=Decimal("0.15")))
    return [RuleValues(ProductLine.individual, payment_terms_days=45,
                       payment_terms_basis=PaymentTermsBasis.premium_received, **pay),
            RuleValues(ProductLine.family, payment_terms_days=30, **pay)]


@pytest.mark.parametrize("status", [PartnerStatus.specialist_broker, PartnerStatus.introducer])
@pytest.mark.parametrize("language", ["en", "fr", "it", "es", "ru", "uk"])
def test_a_new_agreement_states_its_payment_terms_and_their_basis(flow, status, language):
    firm = flow.firm(status, languages=[language])
    agreement = flow.prepare(firm.org, rules=rules(status))
    assert (agreement.template_version, agreement.language) == (templates.latest_version(agreement.kind.value), language)
    assert agreement.template_version >= "2026-12"

    text = squash(" ".join(pages_text(operations.render_for_review(agreement, BROKER))))
    individual, family = label(language, "product_individual"), label(language, "product_family")
    received = label(language, "terms_premium_received").format(n=45)
    month_end = label(language, "terms_statement_month_end").format(n=30)
    assert squash(f"{individual}: {received}") in text
    assert squash(f"{family}: {month_end}") in text


def test_an_agreement_signed_under_the_earlier_version_keeps_it(flow):
    firm = flow.firm(PartnerStatus.specialist_broker)
    earlier = flow.activate(firm, template_version="2026-11")  # prepared before the 2026-12 templates existed

    sealed = squash(" ".join(pages_text(earlier.sealed_pdf)))
    assert earlier.template_version == "2026-11" and check_seal(earlier.sealed_pdf, flow.seal.pem).intact
    assert squash(OLD_SENTENCE) in sealed
    assert squash(label("en", "terms_statement_month_end").format(n=30)) not in sealed

    successor = flow.activate(firm)
    assert successor.template_version >= "2026-12" and earlier.template_version == "2026-11"
    assert squash(label("en", "terms_statement_month_end").format(n=30)) in squash(
        " ".join(pages_text(successor.sealed_pdf)))
