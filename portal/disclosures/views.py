"""Contract disclosures: the partner firm declares what it disclosed to its client (`/firm/disclosures`), and a
compliance officer reviews it (`/compliance/disclosures`): approve, which releases the partner's held share
through the ledger, or return it with reasons. Rules in compliance.disclosures."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from compliance import disclosures as rules
from compliance.disclosure_models import ContractDisclosure, DisclosureChannel, DisclosureState
from core.accounts import Organisation, Role
from core.contracts import Contract
from core.db import utcnow
from ledger.reports import contract_remuneration
from pipeline import broker_disclosure as broker_documents
from pipeline.cases import needs
from pipeline.cases.models import Case
from pipeline.cases.services import people_involved

from ..edge import done, unit_of_work
from ..extensions import db
from ..pagination import paginate
from ..security.access import allow
from ..security.scoping import get_or_404
from .forms import DeclarationForm, DecisionForm

bp = Blueprint("disclosures", __name__)

REVIEWERS = (Role.compliance, Role.admin)


def _partner_contract(public_id: str) -> Contract:
    """A contract of the signed-in partner's own firm (another firm's is not found)."""
    return db.one_or_404(select(Contract).where(Contract.public_id == public_id,
                                                Contract.organisation_id == current_user.organisation_id))


def _disclosure(contract: Contract) -> ContractDisclosure | None:
    return db.session.scalar(select(ContractDisclosure).where(ContractDisclosure.contract_id == contract.id))


def _case(contract: Contract) -> Case | None:
    return db.session.get(Case, contract.case_id) if contract.case_id else None


# --- the partner firm --------------------------------------------------------------------------------------------

@bp.route("/firm/disclosures")
@allow(Role.partner_admin, Role.partner_member)
def partner_list():
    contracts = db.session.scalars(rules.awaiting(db.session).where(
        Contract.organisation_id == current_user.organisation_id)).all()
    return render_template("disclosures/partner_list.html", contracts=contracts,
                           records=rules.disclosures_of(db.session, contracts), state_of=rules.state_of,
                           case_of=_case, States=DisclosureState)


@bp.route("/firm/disclosures/<contract_public_id>", methods=["GET", "POST"])
@allow(Role.partner_admin, Role.partner_member)
def declare(contract_public_id: str):
    contract = _partner_contract(contract_public_id)
    disclosure = _disclosure(contract)
    form = DeclarationForm()
    if request.method == "GET" and disclosure is not None and disclosure.declared_at:
        form.role_disclosed.data, form.remuneration_disclosed.data = (disclosure.role_disclosed,
                                                                      disclosure.remuneration_disclosed)
        form.disclosed_on.data = disclosure.disclosed_on
        form.channel.data = disclosure.channel.value if disclosure.channel else None
    if form.validate_on_submit():
        upload = form.evidence.data
        with unit_of_work(form) as work:
            rules.declare(db.session, current_user, contract, rules.Declaration(
                role_disclosed=form.role_disclosed.data, remuneration_disclosed=form.remuneration_disclosed.data,
                disclosed_on=form.disclosed_on.data, channel=DisclosureChannel(form.channel.data),
                remuneration_disclosed_minor=form.amount_minor,
                evidence=upload.read() if upload else None, evidence_name=upload.filename if upload else None),
                today=utcnow().date())
        if work.ok:
            return done(_("Your declaration is sent to compliance for review."), url_for("disclosures.partner_list"))
    status = 422 if request.method == "POST" else 200
    return render_template("disclosures/declare.html", form=form, contract=contract, disclosure=disclosure,
                           case=_case(contract), state=rules.state_of(disclosure),
                           may_declare=rules.state_of(disclosure) in rules.DECLARABLE), status


# --- compliance --------------------------------------------------------------------------------------------------

@bp.route("/compliance/disclosures")
@allow(*REVIEWERS)
def queue():
    wanted = request.args.get("state", "submitted")
    states = [DisclosureState(wanted)] if wanted in DisclosureState._value2member_map_ else None
    page = paginate(rules.awaiting(db.session, states), per_page=50)
    names = dict(db.session.execute(select(Organisation.id, Organisation.legal_name)).all())
    return render_template("disclosures/queue.html", page=page, wanted=wanted if states else "all", names=names,
                           records=rules.disclosures_of(db.session, page.items), state_of=rules.state_of,
                           States=DisclosureState, today=utcnow().date())


@bp.route("/compliance/disclosures/<contract_public_id>")
@allow(*REVIEWERS)
def review(contract_public_id: str, form: DecisionForm | None = None):
    contract = get_or_404(Contract, contract_public_id)
    if contract.organisation_id is None:
        abort(404)
    disclosure = _disclosure(contract)
    involved = people_involved(db.session, contract)
    case = _case(contract)
    return render_template("disclosures/review.html", contract=contract, disclosure=disclosure,
                           state=rules.state_of(disclosure), case=case,
                           statement=needs.current(db.session, case) if case else None,
                           broker_deliveries=broker_documents.deliveries_of(db.session, case) if case else [],
                           firm=db.session.get(Organisation, contract.organisation_id),
                           remuneration=contract_remuneration(db.session, contract.public_id),
                           form=form or DecisionForm(formdata=None),
                           may_decide=(current_user.role is Role.compliance and disclosure is not None
                                       and disclosure.state is DisclosureState.submitted),
                           four_eyes=current_user.id in involved)


@bp.route("/compliance/disclosures/<contract_public_id>/approve", methods=["POST"])
@allow(Role.compliance)
def approve(contract_public_id: str):
    return _decide(contract_public_id, "approve")


@bp.route("/compliance/disclosures/<contract_public_id>/return", methods=["POST"])
@allow(Role.compliance)
def return_(contract_public_id: str):
    return _decide(contract_public_id, "return")


def _decide(contract_public_id: str, decision: str):
    contract = get_or_404(Contract, contract_public_id)
    disclosure = _disclosure(contract)
    if disclosure is None:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        involved = people_involved(db.session, contract)
        with unit_of_work(form) as work:
            if decision == "approve":
                rules.approve(db.session, current_user, disclosure, reason=form.reason.data, involved=involved,
                              today=utcnow().date())
            else:
                rules.return_(db.session, current_user, disclosure, reason=form.reason.data, involved=involved)
        if work.ok:
            message = (_("Disclosures approved: the partner's share is released for the next payout run.")
                       if decision == "approve" else _("Declaration returned to the partner firm."))
            return done(message, url_for("disclosures.review", contract_public_id=contract.public_id))
    return review(contract_public_id, form=form), 422


@bp.route("/compliance/disclosures/<contract_public_id>/evidence")
@allow(*REVIEWERS)
def evidence(contract_public_id: str):
    contract = get_or_404(Contract, contract_public_id)
    disclosure = _disclosure(contract)
    if disclosure is None or not disclosure.evidence:
        abort(404)
    return Response(disclosure.evidence, mimetype=disclosure.evidence_mime, headers={
        "Content-Disposition": f'attachment; filename="{disclosure.evidence_name}"',
        "Cache-Control": "private, no-store"})
