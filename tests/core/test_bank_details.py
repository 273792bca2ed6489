"""A partner firm's payout account: checked when entered, stored compact, every change on the audit chain."""
import pytest
from sqlalchemy import select

from core.accounts import Role
from core.audit import AuditEvent
from core.bank_details import BankDetails, InvalidBankDetails, problems, set_bank_details


def test_valid_details_are_stored_compact_with_the_bic_derived_and_audited(session, make_org, make_user):
    org, finance = make_org(), make_user(Role.finance)
    set_bank_details(session, finance, org, BankDetails(account_holder="  Firm SARL ", iban="DE89 3704 0044 0532 0130 00",
                                                        bic=None, minimum_minor=10_000), ip="192.0.2.7")
    session.commit()
    assert (org.payout_account_holder, org.payout_iban, org.payout_bic, org.payout_minimum_minor) == (
        "Firm SARL", "DE89370400440532013000", "COBADEFFXXX", 10_000)
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "organisation.bank_details_changed")
                            ).scalar_one()
    assert (event.subject_id, event.actor_id, event.ip) == (org.public_id, finance.id, "192.0.2.7")
    assert event.details()["before"]["iban"] is None and event.details()["after"]["iban"] == "DE89370400440532013000"


def test_invalid_details_are_refused_by_field_and_nothing_changes(session, make_org, make_user):
    org = make_org()
    with pytest.raises(InvalidBankDetails) as refused:
        set_bank_details(session, make_user(Role.finance), org,
                         BankDetails(account_holder="Firm", iban="DE00370400440532013000", bic="NOT A BIC",
                                     minimum_minor=-1))
    assert set(refused.value.fields) == {"iban", "bic", "minimum"}
    assert org.payout_iban is None
    assert session.execute(select(AuditEvent.id)).first() is None


def test_a_bic_is_asked_for_only_when_the_iban_does_not_give_one():
    assert problems("DE89370400440532013000", None) == {}
    assert problems("DE89370400440532013000", "COBADEFFXXX") == {}
    assert set(problems("not an iban", None)) == {"iban"}  # the IBAN's own message says what is wrong
