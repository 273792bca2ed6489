"""The payment rules that need no provider: which IBANs may be debited by SEPA direct debit, and what a
provider's report does to a payment's state (a late or repeated report never undoes a success)."""
from __future__ import annotations

import pytest

from funnel.payment_models import MethodKind, Payment, PaymentState
from funnel.payments import (IbanInvalid, IntentResult, SepaNotOffered, WebhookEvent, apply_webhook_event,
                             failure_message, sepa_iban, sepa_offered)


@pytest.mark.parametrize("iban,compact", [
    ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
    ("de89-3704-0044-0532-0130-00", "DE89370400440532013000"),
    ("IT60X0542811101000000123456", "IT60X0542811101000000123456"),
    ("ES9121000418450200051332", "ES9121000418450200051332"),
    ("CH9300762011623852957", "CH9300762011623852957"),
    ("GB29NWBK60161331926819", "GB29NWBK60161331926819"),
])
def test_an_iban_of_the_sepa_scheme_may_be_debited(iban, compact):
    assert sepa_iban(iban) == compact and sepa_offered(iban)


@pytest.mark.parametrize("iban,country", [
    ("US64SVBKUS6S3300958879", "US"), ("CA1234567890123456", "CA"), ("JP1234567890123456", "JP"),
    ("AU1234567890123456", "AU"), ("BR1800360305000010009795493C1", "BR"), ("TR330006100519786457841326", "TR"),
])
def test_an_account_outside_the_sepa_scheme_is_not_offered_direct_debit(iban, country):
    with pytest.raises(SepaNotOffered) as refused:
        sepa_iban(iban)
    assert refused.value.params == {"country": country} and not sepa_offered(iban)


@pytest.mark.parametrize("iban", ["FR7630006000011234567890188", "FR76", "", "12345678901234", "DE89 3704 0044",
                                  "ÉÉ89370400440532013000", "FR76\x003000600001123456789018"])
def test_a_mistyped_iban_is_refused_as_such(iban):
    with pytest.raises(IbanInvalid):
        sepa_iban(iban)


class ReportsOnly:
    """A provider that is only asked for what a webhook already carries (nothing is saved for later here)."""

    def card_details(self, payment_method_id):
        raise AssertionError("not asked")


def _payment(session, make_volunteer, state=PaymentState.processing) -> Payment:
    payment = Payment(volunteer=make_volunteer(), purpose="subscription:x:2027-01", amount_minor=4250,
                      currency="eur", kind=MethodKind.sepa_debit, state=state, idempotency_key="k",
                      provider_intent_id="pi_1")
    session.add(payment)
    session.flush()
    return payment


def _event(event_id: str, kind: str, status: str, code: str | None = None) -> WebhookEvent:
    return WebhookEvent(id=event_id, type=kind, intent=IntentResult(id="pi_1", status=status, failure_code=code))


def test_a_late_failure_report_never_undoes_a_success_and_a_replay_changes_nothing(session, make_volunteer):
    payment = _payment(session, make_volunteer)
    assert apply_webhook_event(session, ReportsOnly(), _event("evt_1", "payment_intent.succeeded", "succeeded"))
    assert payment.state is PaymentState.succeeded and payment.succeeded_at is not None
    assert not apply_webhook_event(session, ReportsOnly(), _event("evt_1", "payment_intent.succeeded", "succeeded"))
    assert apply_webhook_event(session, ReportsOnly(),
                               _event("evt_0", "payment_intent.payment_failed", "requires_payment_method"))
    assert payment.state is PaymentState.succeeded and payment.is_paid


def test_a_failed_sepa_debit_says_why(session, make_volunteer):
    payment = _payment(session, make_volunteer)
    failed = _event("evt_2", "payment_intent.payment_failed", "requires_payment_method", "insufficient_funds")
    apply_webhook_event(session, ReportsOnly(), failed)
    assert payment.state is PaymentState.failed and payment.failure_code == "insufficient_funds"
    assert "nothing was charged" in failure_message(payment)
