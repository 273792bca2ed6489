"""The broker's disclosure settings: effective-dated versions published by administrators, never edited; the
version in force on a day is the latest whose date has come."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from compliance import broker_disclosure as settings
from compliance.broker_disclosure import AdviceBasis, BrokerDisclosureSettings, SettingsInput
from core.accounts import Role
from core.audit import AuditEvent
from core.errors import AppendOnlyViolation

TODAY = date(2026, 12, 7)


def values(**changes) -> SettingsInput:
    base = dict(effective_from=TODAY, legal_name="BIG Insurance Brokers SAS",
                address="12 rue de la Paix, 75002 Paris, France", register="ORIAS", registration_number="07000001",
                advice_basis=AdviceBasis.fair_analysis, insurers=["Allianz Care", " Cigna Global ", "", "Allianz Care"],
                holdings=[], complaints_procedure="Write to reclamations@broker.example; answer within two months.",
                mediation_procedure="La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09.")
    base.update(changes)
    return SettingsInput(**base)


def test_versions_take_effect_from_their_date_and_the_history_is_kept(session, make_user):
    admin = make_user(Role.admin)
    assert settings.in_force(session, TODAY) is None
    first = settings.publish(session, admin, values(), today=TODAY)
    later = settings.publish(session, admin, values(effective_from=TODAY + timedelta(days=30),
                                                    advice_basis=AdviceBasis.tied, insurers=["Allianz Care"],
                                                    holdings=["Allianz holds 12% of the broker's capital"]),
                             today=TODAY)
    session.commit()
    assert first.insurers == ["Allianz Care", "Cigna Global"], "lines cleaned, blanks and repeats dropped"
    assert settings.in_force(session, TODAY) == first
    assert settings.in_force(session, TODAY + timedelta(days=29)) == first
    assert settings.in_force(session, TODAY + timedelta(days=30)) == later
    assert settings.in_force(session, TODAY - timedelta(days=1)) is None
    assert settings.history(session) == [later, first]
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "disclosure_settings.published"))
    assert len(events.all()) == 2


def test_a_published_version_is_never_edited(session, make_user):
    version = settings.publish(session, make_user(Role.admin), values(), today=TODAY)
    session.commit()
    version.legal_name = "Someone else"
    with pytest.raises(AppendOnlyViolation):
        session.commit()
    session.rollback()
    assert session.scalar(select(BrokerDisclosureSettings.legal_name)) == "BIG Insurance Brokers SAS"


@pytest.mark.parametrize("role", [Role.compliance, Role.account_manager, Role.finance, Role.partner_admin])
def test_only_an_administrator_publishes(session, make_user, make_org, role):
    user = make_user(role, make_org() if role is Role.partner_admin else None)
    with pytest.raises(settings.NotPublisher):
        settings.publish(session, user, values(), today=TODAY)


@pytest.mark.parametrize("changes,fields", [
    ({"effective_from": TODAY - timedelta(days=1)}, {"effective_from"}),
    ({"legal_name": " ", "address": "Paris"}, {"legal_name", "address"}),
    ({"advice_basis": AdviceBasis.tied, "insurers": []}, {"insurers"}),
    ({"holdings": ["x" * 301]}, {"holdings"}),
    ({"complaints_procedure": "Call us.", "mediation_procedure": ""}, {"complaints_procedure",
                                                                        "mediation_procedure"}),
])
def test_incomplete_settings_are_refused_field_by_field(session, make_user, changes, fields):
    with pytest.raises(settings.SettingsRefused) as refused:
        settings.publish(session, make_user(Role.admin), values(**changes), today=TODAY)
    assert set(refused.value.fields) == fields


def test_a_new_version_cannot_take_effect_before_the_latest(session, make_user):
    admin = make_user(Role.admin)
    settings.publish(session, admin, values(effective_from=TODAY + timedelta(days=10)), today=TODAY)
    with pytest.raises(settings.SettingsRefused) as refused:
        settings.publish(session, admin, values(effective_from=TODAY + timedelta(days=5)), today=TODAY)
    assert "effective_from" in refused.value.fields
    # the same day replaces it from that day on (the later publication wins)
    replacement = settings.publish(session, admin, values(effective_from=TODAY + timedelta(days=10),
                                                          legal_name="BIG Brokers SAS"), today=TODAY)
    assert settings.in_force(session, TODAY + timedelta(days=10)) == replacement
