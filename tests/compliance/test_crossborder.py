"""Cross-border (EU/EEA "general good"): the country lists, the rule, and the firms' host-state notifications.
The rule is tested on plain values; the notifications on a plain session, without Flask."""
from datetime import date

import pytest
from babel import Locale
from sqlalchemy import select

from compliance.country_lists import EEA_EFTA_MEMBERS, EEA_MEMBERS, EU_MEMBERS, LAST_REVIEWED, in_eea
from compliance.crossborder import (
    CrossBorderOutcome as O, HostStateNotification, NotificationBasis as B, assess, end_notification,
    notified_host_countries, record_notification)
from compliance.errors import CrossBorderNotAllowed, CrossBorderRefused
from core.accounts import Role
from core.audit import AuditEvent
from funnel.countries import COUNTRY_CODES

# --- the country lists --------------------------------------------------------------------------------------


def test_the_country_lists_are_iso_codes_the_project_knows_with_their_review_date():
    territories = Locale("en").territories
    for code in EEA_MEMBERS:
        assert len(code) == 2 and code.isupper() and code in COUNTRY_CODES and code in territories, code
    assert len(EU_MEMBERS) == 27 and {"IS", "LI", "NO"} == EEA_EFTA_MEMBERS and len(EEA_MEMBERS) == 30
    assert "GR" in EU_MEMBERS and "EL" not in EEA_MEMBERS, "ISO's code for Greece, not the EU's own"
    assert not {"GB", "CH"} & EEA_MEMBERS, "the United Kingdom left; Switzerland is not in the EEA"
    assert isinstance(LAST_REVIEWED, date) and date.today() >= LAST_REVIEWED


# --- the rule -----------------------------------------------------------------------------------------------

NOTIFIED = {"BE": B.freedom_of_services, "DE": B.establishment, "NO": B.freedom_of_services}


@pytest.mark.parametrize("home, client, notified, outcome, basis", [
    ("FR", "FR", NOTIFIED, O.domestic, None),
    ("FR", "FR", None, O.domestic, None),
    ("GB", "GB", None, O.domestic, None),                             # domestic outside the EU/EEA too
    ("FR", "BE", NOTIFIED, O.host_state_check, B.freedom_of_services),
    ("FR", "DE", NOTIFIED, O.host_state_check, B.establishment),
    ("FR", "NO", NOTIFIED, O.host_state_check, B.freedom_of_services),  # an EEA (EFTA) state
    ("FR", "IT", NOTIFIED, O.held, None),                             # an EU state not notified
    ("FR", "IT", {}, O.held, None),                                   # every notification ended
    ("FR", "IT", None, O.host_state_check, None),                     # no notification on record: look
    ("FR", "AE", NOTIFIED, O.outside_eea, None),
    ("FR", "CH", NOTIFIED, O.outside_eea, None),                      # Switzerland is not in the EEA
    ("FR", "GB", None, O.outside_eea, None),
    ("GB", "FR", None, O.outside_eea, None),                          # a firm from outside the EU/EEA
])
def test_the_outcome_of_a_clients_country_against_the_firms(home, client, notified, outcome, basis):
    result = assess(home, client, notified)
    assert (result.outcome, result.basis) == (outcome, basis)


def test_only_eu_eea_states_count_as_such():
    assert in_eea("LI") and in_eea("FR") and not in_eea("CH") and not in_eea(None) and not in_eea("fr")


# --- the firms' notifications -------------------------------------------------------------------------------

@pytest.fixture
def officer(make_user):
    return make_user(Role.compliance)


def test_compliance_records_and_ends_a_notification_effective_dated_and_audited(session, make_org, officer):
    firm = make_org()
    assert notified_host_countries(session, firm.id, date(2026, 1, 1)) is None, "nothing on record yet"
    row = record_notification(session, officer, firm, country="be", basis=B.freedom_of_services,
                              notified_on=date(2025, 3, 1))
    record_notification(session, officer, firm, country="DE", basis=B.establishment, notified_on=date(2026, 6, 1))
    session.commit()
    assert row.country == "BE" and row.recorded_by_id == officer.id
    assert notified_host_countries(session, firm.id, date(2025, 2, 28)) == {}
    assert notified_host_countries(session, firm.id, date(2026, 1, 1)) == {"BE": B.freedom_of_services}
    assert notified_host_countries(session, firm.id, date(2026, 6, 1)) == {"BE": B.freedom_of_services,
                                                                            "DE": B.establishment}
    end_notification(session, officer, row, ended_on=date(2026, 9, 1))
    session.commit()
    assert notified_host_countries(session, firm.id, date(2026, 9, 1)) == {"DE": B.establishment}
    assert notified_host_countries(session, firm.id, date(2026, 8, 31))["BE"] is B.freedom_of_services
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == firm.public_id)
                              .order_by(AuditEvent.id)).all()
    assert actions == ["host_state.notified", "host_state.notified", "host_state.ended"]
    # re-notified after the end: a new record, the old one kept
    record_notification(session, officer, firm, country="BE", basis=B.establishment, notified_on=date(2026, 10, 1))
    session.commit()
    assert session.query(HostStateNotification).filter_by(organisation_id=firm.id, country="BE").count() == 2


@pytest.mark.parametrize("country, firm_country, field", [
    ("CH", "FR", "country"),   # not an EU/EEA state
    ("FR", "FR", "country"),   # the home country
    ("ZZ", "FR", "country"),
    ("BE", "GB", "country"),   # a firm outside the EU/EEA has no passport
])
def test_a_notification_outside_the_rules_is_refused(session, make_org, officer, country, firm_country, field):
    firm = make_org(country=firm_country)
    with pytest.raises(CrossBorderRefused) as refused:
        record_notification(session, officer, firm, country=country, basis=B.freedom_of_services,
                            notified_on=date(2026, 1, 1))
    assert field in refused.value.fields


def test_a_host_state_is_notified_once_at_a_time_and_ended_once(session, make_org, officer):
    firm = make_org()
    row = record_notification(session, officer, firm, country="BE", basis=B.freedom_of_services,
                              notified_on=date(2026, 1, 1))
    with pytest.raises(CrossBorderRefused):
        record_notification(session, officer, firm, country="BE", basis=B.establishment, notified_on=date(2026, 2, 1))
    with pytest.raises(CrossBorderRefused):
        end_notification(session, officer, row, ended_on=date(2026, 1, 1))
    end_notification(session, officer, row, ended_on=date(2026, 3, 1))
    with pytest.raises(CrossBorderRefused):
        end_notification(session, officer, row, ended_on=date(2026, 4, 1))


@pytest.mark.parametrize("role", [Role.finance, Role.account_manager, Role.partner_admin])
def test_only_admins_and_compliance_keep_the_notifications(session, make_org, make_user, role):
    firm = make_org()
    user = make_user(role, firm if role is Role.partner_admin else None)
    with pytest.raises(CrossBorderNotAllowed):
        record_notification(session, user, firm, country="BE", basis=B.freedom_of_services,
                            notified_on=date(2026, 1, 1))
    admin = make_user(Role.admin)
    assert record_notification(session, admin, firm, country="BE", basis=B.freedom_of_services,
                               notified_on=date(2026, 1, 1)).recorded_by_id == admin.id
