"""Insurers are added with a unique code and deactivated, never deleted; each change is audited."""
import pytest
from sqlalchemy import select

from core.accounts import Role
from core.audit import AuditEvent
from core.insurers import InsurerCodeTaken, create_insurer, set_insurer_active


def test_an_insurer_is_created_once_per_code_and_each_change_is_audited(session, make_user):
    admin = make_user(Role.admin)
    insurer = create_insurer(session, admin, code=" Bupa-Global ", name=" Bupa Global ")
    session.commit()
    assert (insurer.code, insurer.name, insurer.active) == ("bupa-global", "Bupa Global", True)
    with pytest.raises(InsurerCodeTaken) as refused:
        create_insurer(session, admin, code="BUPA-GLOBAL", name="Another")
    assert "code" in refused.value.fields
    session.rollback()
    set_insurer_active(session, admin, insurer, False)
    session.commit()
    actions = session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["insurer.created", "insurer.deactivated"] and insurer.active is False
