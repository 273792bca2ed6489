"""A firm that asked not to be copied on key client communications is not copied, even when the client consented;
the copy log says why. Delivered through a real SMTP server, so "nothing" means nothing reached the wire."""
from sqlalchemy import select

from compliance.cc_policy import CcReason
from core.accounts import PartnerStatus, Role
from core.outbox import deliver_due
from core.transports import SmtpTransport
from pipeline.cases.models import CaseStatus as S, CcLog, CcOutcome
from pipeline.cases.services import convert_lead
from tests.pipeline.case_data import case_input, walk

TO_QUOTE = (S.needs_analysis, S.quote_requested, S.quote_issued)


def _deliver(app, session, smtp_server):
    with app.app_context():
        result = deliver_due(session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"),
                             "Portal <no-reply@portal.test>", batch=100)
    assert result.failed == 0
    return [(rcpt, msg) for rcpt, msg in smtp_server.messages]


def _logs(session, case):
    return list(session.execute(select(CcLog).where(CcLog.case_id == case.id).order_by(CcLog.id)).scalars())


def test_an_introducer_that_opted_out_receives_nothing(app, session, smtp_server, manager, make_org, make_user,
                                                       new_lead):
    firm = make_org(PartnerStatus.introducer, cc_key_communications=False)
    introducer = make_user(Role.partner_member, firm, email="referrer@relocate.example")
    lead = new_lead(introducer)  # the client consented to copies (the default lead)
    case = convert_lead(session, manager, lead, case_input(cc=False))
    session.commit()
    assert case.consent.cc_on_milestones
    walk(session, manager, case, *TO_QUOTE)

    delivered = _deliver(app, session, smtp_server)
    assert all("referrer@relocate.example" not in rcpt for rcpt, _msg in delivered)
    [log] = _logs(session, case)
    assert (log.outcome, log.reason, log.recipients, log.outbox_message_id) == (
        CcOutcome.withheld, CcReason.firm_opted_out, None, None)


def test_a_broker_that_opted_out_is_not_copied_and_the_client_still_hears(app, session, smtp_server, manager,
                                                                          make_broker, new_case, login):
    broker = make_broker(cc_key_communications=False)
    case = new_case(broker)
    walk(session, manager, case, *TO_QUOTE)

    delivered = _deliver(app, session, smtp_server)
    assert [rcpt for rcpt, _msg in delivered] == [["marc@example.org"]], "only the client's own mail"
    [log] = _logs(session, case)
    assert (log.outcome, log.reason) == (CcOutcome.withheld, CcReason.firm_opted_out)
    page = login(manager).get(f"/cases/{case.public_id}").get_data(as_text=True)
    assert "The partner firm asked not to be copied on key steps" in page


def test_a_firm_that_asked_for_copies_gets_them(app, session, smtp_server, manager, make_broker, new_case):
    broker = make_broker(cc_key_communications=True)
    case = new_case(broker)
    walk(session, manager, case, *TO_QUOTE)

    delivered = _deliver(app, session, smtp_server)
    assert sorted(r for rcpt, _msg in delivered for r in rcpt) == sorted([broker.email, "marc@example.org"])
    assert _logs(session, case)[0].reason is CcReason.consent_given
