"""Agreements counted by state for the staff home pages' chart."""
from datetime import date

from agreements.figures import agreements_by_state
from agreements.models import Agreement, AgreementKind, AgreementStatus


def test_every_state_is_counted_and_states_without_agreements_show_zero(session, make_org):
    statuses = [AgreementStatus.active, AgreementStatus.active, AgreementStatus.sent, AgreementStatus.draft]
    for i, status in enumerate(statuses):
        org = make_org()
        session.add(Agreement(reference=f"AG-T{i}", organisation_id=org.id, kind=AgreementKind.collaboration,
                              template_version="2026-11", language="en", status=status,
                              effective_from=date(2026, 1, 1)))
    session.commit()
    counts = agreements_by_state(session)
    assert list(counts) == list(AgreementStatus)
    assert counts == {s: statuses.count(s) for s in AgreementStatus}
