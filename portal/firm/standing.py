"""Where a partner firm stands, as its people need to read it: the agreement waiting for a signature and who
must sign it, and — when the firm cannot submit new business — why, once, with the one thing to do next.

The refusal itself stays in the domain (`Organisation.may_do_business`, the pipeline's `FirmNotActive`); this
module only lets the screens stop offering what cannot be done."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, render_template, url_for
from flask_login import current_user
from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..extensions import db

from agreements.models import Agreement, AgreementStatus
from core.accounts import Organisation, Role, User
from core.partners import Lifecycle

#: agreements on their way to being in force, newest first wins
PENDING_STATUSES = (AgreementStatus.draft, AgreementStatus.sent, AgreementStatus.partner_signed,
                    AgreementStatus.countersigned)


@dataclass(frozen=True)
class PendingAgreement:
    public_id: str
    reference: str
    status: AgreementStatus
    #: the firm's active administrators: the people who may sign for it
    signers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Standing:
    may_do_business: bool
    #: the agreement to sign (status `sent`), or None
    to_sign: PendingAgreement | None
    #: why the firm cannot submit new business (translated), or None when it can
    reason: str | None = None
    action_label: str | None = None
    action_url: str | None = None


# Built once: the partner home reads them on every request, and building a statement costs more than running it.
PENDING = (select(Agreement.public_id, Agreement.reference, Agreement.status)
           .where(Agreement.organisation_id == bindparam("org"), Agreement.status.in_(PENDING_STATUSES))
           .order_by(Agreement.id.desc()).limit(1))
SIGNERS = (select(User.full_name).where(User.organisation_id == bindparam("org"), User.role == Role.partner_admin,
                                        User.active.is_(True)).order_by(User.full_name))


def _pending(session: Session, org: Organisation) -> PendingAgreement | None:
    row = session.connection().execute(PENDING, {"org": org.id}).first()
    if row is None:
        return None
    signers = session.connection().execute(SIGNERS, {"org": org.id}).scalars().all()
    return PendingAgreement(row.public_id, row.reference, row.status, tuple(signers))


def _signing_step(pending: PendingAgreement, user: User) -> tuple[str, str, str]:
    view = url_for("agreements.view", public_id=pending.public_id)
    if pending.status is AgreementStatus.sent:
        if user.role is Role.partner_admin:
            return (_("Your agreement %(reference)s is waiting for your signature: new business opens once it is "
                      "signed by both parties.", reference=pending.reference),
                    _("Sign now"), url_for("agreements.sign", public_id=pending.public_id))
        return (_("Your agreement %(reference)s is waiting for the signature of your firm's administrator "
                  "(%(names)s): new business opens once it is signed by both parties.", reference=pending.reference,
                  names=", ".join(pending.signers) or "—"),
                _("See the agreement"), view)
    if pending.status is AgreementStatus.draft:
        return (_("The broker is preparing your agreement; your administrator will be asked to sign it. New "
                  "business opens once it is signed by both parties."),
                _("See the onboarding checklist"), url_for("onboarding.checklist"))
    return (_("Your firm signed agreement %(reference)s; new business opens as soon as the broker has countersigned "
              "it and the sealed copy is ready.", reference=pending.reference),
            _("See the agreement"), view)


def _refusal(org: Organisation, pending: PendingAgreement | None, user: User) -> tuple[str, str, str]:
    checklist = url_for("onboarding.checklist")
    if org.lifecycle in (Lifecycle.applied, Lifecycle.under_review):
        return (_("Your firm's application is being reviewed: new business opens once compliance has approved it "
                  "and the agreement is signed."), _("See the onboarding checklist"), checklist)
    if org.lifecycle is Lifecycle.approved and pending is not None:
        return _signing_step(pending, user)
    if org.lifecycle is Lifecycle.suspended:
        return (_("Your firm is suspended: it cannot submit new business for now. Your cases in progress continue; "
                  "contact the broker's compliance team to resume."), _("Your agreements"),
                url_for("agreements.index"))
    if org.lifecycle is Lifecycle.terminated:
        return (_("Your firm's agreement has ended: it cannot submit new business. Contact the broker if you wish "
                  "to work together again."), _("Your agreements"), url_for("agreements.index"))
    if org.lifecycle is Lifecycle.rejected:
        return (_("Your firm's application was not accepted: it cannot submit new business."),
                _("See the onboarding checklist"), checklist)
    return (_("Your firm cannot submit new business yet: it has no agreement in force."),
            _("See the onboarding checklist"), checklist)


#: `standing`'s `pending` when the caller did not read it
_UNREAD = object()


def standing(session: Session, user: User, pending: PendingAgreement | None = _UNREAD) -> Standing:  # type: ignore[assignment]
    """The signed-in partner's firm, read once per request. `pending`: the firm's agreement on its way to being
    in force (with its signers), when the caller read it already (the partner home reads it with its figures)."""
    if "_firm_standing" in g:
        return g._firm_standing
    org = user.organisation
    if pending is _UNREAD:
        pending = _pending(session, org)
    to_sign = pending if pending is not None and pending.status is AgreementStatus.sent else None
    if org.may_do_business:
        result = Standing(True, to_sign)
    else:
        reason, label, url = _refusal(org, pending, user)
        result = Standing(False, to_sign, reason, label, url)
    g._firm_standing = result
    return result


def no_new_business(title: str):
    """The page a form URL answers when the firm cannot use it: why, and what to do — never the form itself."""
    return render_template("firm/no_new_business.html", title=title,
                           standing=standing(db.session, current_user)), 403
