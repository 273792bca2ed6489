"""The volunteers' subscriptions, for the broker's staff: a search by name or file reference with filters by
state and cover; a subscription's page (roster data, quote record, adhesion and signature evidence, documents,
payments, funnel events, history); a volunteer's page; and the personal link sent by e-mail (funnel.staff).

Administrators and account managers work them (send links); finance and compliance read them; partners, the
programme operator and volunteers never."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import LANGUAGES, Role
from core.db import utcnow
from funnel import activation, cheques, collection, dunning, journey, payments, staff
from funnel.collection_plan import PLAN, ended_on, suspended_from
from funnel.cover_refunds import month_due_minor
from funnel.catalogue import FORMULA_LABELS, Cover, Guarantee, PersonCategory
from funnel.models import Subscription, SubscriptionState, Volunteer

from ..edge import done, unit_of_work
from ..extensions import db
from ..i18n import format_day, format_month, money, tr
from ..mail import link_context, queue_mail
from ..pagination import paginate
from ..security.access import Access, allow, permit
from ..security.scoping import get_or_404
from ..volunteer.activation import issuer, settle_and_notify
from .forms import ChequeForm, RefundMadeForm

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")

#: who works the volunteers' subscriptions (and sends them their link)
SUBSCRIPTION_STAFF = (Role.admin, Role.account_manager)
#: who record a cheque received for a first month
CHEQUE_STAFF = (Role.admin, Role.finance)
#: who reads them: those, finance (payments) and compliance (signature evidence)
READ_SUBSCRIPTIONS = Access(roles=frozenset({*SUBSCRIPTION_STAFF, Role.finance, Role.compliance}))


def _enum_arg(name: str, enum):
    value = request.args.get(name, "")
    if value and value not in enum.__members__:
        abort(400)
    return enum[value] if value else None


@bp.route("/")
@permit(READ_SUBSCRIPTIONS)
def index():
    text = request.args.get("q", "")
    if len(text) > 200 or "\x00" in text:
        abort(400)
    state, cover = _enum_arg("state", SubscriptionState), _enum_arg("cover", Cover)
    page = paginate(staff.search_subscriptions(text, state=state, cover=cover))
    volunteers = (db.session.scalars(staff.search_volunteers(text)).all()
                  if text.strip() and not page.total else [])
    return render_template("subscriptions/index.html", page=page, q=text, state=state, cover=cover,
                           states=SubscriptionState, covers=Cover, volunteers=volunteers, labels=FORMULA_LABELS)


def _links_allowed() -> bool:
    return current_user.role in SUBSCRIPTION_STAFF


#: how many months ahead a cheque may pay (from the current one)
CHEQUE_MONTHS_AHEAD = 12


def _first_month_cheque(subscription: Subscription) -> bool:
    payment = subscription.first_payment
    return (subscription.state in activation.PAYABLE_STATES
            and not (payment is not None and payment.state in (activation.PaymentState.succeeded,
                                                               activation.PaymentState.processing)))


def _open_months(subscription: Subscription) -> list[str]:
    """The later months a cheque may pay now (none before the first month is paid)."""
    today = utcnow().date()
    through = f"{today.year + (today.month + CHEQUE_MONTHS_AHEAD - 1) // 12:04d}-" \
              f"{(today.month + CHEQUE_MONTHS_AHEAD - 1) % 12 + 1:02d}"
    return cheques.months_open(db.session, subscription, through=through)


def _cheque_expected(subscription: Subscription) -> bool:
    return current_user.role in CHEQUE_STAFF and (_first_month_cheque(subscription)
                                                  or bool(_open_months(subscription)))


def _month_name(month: str) -> str:
    return format_month(date.fromisoformat(f"{month}-01"))


def _month_choices(subscription: Subscription) -> list[tuple[str, str]]:
    return [(m, f"{_month_name(m)} — {money(month_due_minor(subscription, m), subscription.currency)}")
            for m in _open_months(subscription)]


@bp.route("/overdue")
@permit(READ_SUBSCRIPTIONS)
def overdue():
    """The subscriptions with premiums unpaid (past due, in litigation, suspended, ended for non-payment) and
    what is due on each, oldest first."""
    state = _enum_arg("state", SubscriptionState)
    rows = dunning.overdue(db.session, state)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.subscription.currency] = totals.get(row.subscription.currency, 0) + row.amount_due_minor
    return render_template("subscriptions/overdue.html", rows=rows, state=state, states=dunning.OVERDUE_STATES,
                           totals=totals, suspended_from=suspended_from, ended_on=ended_on, plan=PLAN)


@bp.route("/<public_id>")
@permit(READ_SUBSCRIPTIONS)
def view(public_id: str, cheque_form: ChequeForm | None = None):
    subscription = get_or_404(Subscription, public_id)
    volunteer = subscription.volunteer
    if cheque_form is None and _cheque_expected(subscription):
        cheque_form = ChequeForm(formdata=None, received_on=utcnow().date())
    if cheque_form is not None:
        cheque_form.months.choices = _month_choices(subscription)
    return render_template(
        "subscriptions/view.html", s=subscription, v=volunteer, signature=subscription.signature,
        payments=activation.payments_of(db.session, subscription), events=staff.funnel_timeline(db.session, volunteer),
        history=staff.history(db.session, subscription), labels=FORMULA_LABELS, Cover=Cover, Guarantee=Guarantee,
        PersonCategory=PersonCategory, withdrawal_ends_on=journey.withdrawal_ends_on(subscription),
        terms_delivered_at=journey.terms_delivered_at(subscription), may_send=_links_allowed(),
        cheque_form=cheque_form if _cheque_expected(subscription) else None,
        first_month_cheque=_first_month_cheque(subscription),
        months=collection.months_of(db.session, subscription), cases=staff.recovery_cases(db.session, subscription),
        amount_due=collection.amount_due(db.session, subscription), suspended_from=suspended_from,
        ended_on=ended_on, plan=PLAN, failure_message=payments.failure_message,
        refund_form=RefundMadeForm(formdata=None) if current_user.role in CHEQUE_STAFF else None)


@bp.route("/<public_id>/cheque", methods=["POST"])
@allow(*CHEQUE_STAFF)
def record_cheque(public_id: str):
    """A cheque received for the first month (the first payment, so the certificate is issued at once), or for
    later months of a running cover (each booked like any collected month)."""
    subscription = get_or_404(Subscription, public_id)
    if not _first_month_cheque(subscription) and (
            request.form.getlist("months") or activation.recorded_first_cheque(
                db.session, subscription, request.form.get("cheque_number")) is None):
        return _record_later_cheque(subscription)
    form = ChequeForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            payment = activation.record_cheque(
                db.session, current_user, subscription, amount_minor=form.amount_minor,
                cheque_number=form.cheque_number.data, received_on=form.received_on.data, today=utcnow().date(),
                bank=form.bank.data)
            settle_and_notify(subscription)
        if work.ok:
            return done(_("Cheque %(number)s recorded as the first month's payment.", number=payment.cheque_number),
                        url_for("subscriptions.view", public_id=subscription.public_id))
        if isinstance(work.error, activation.ChequeNotExpected):
            return done(tr(work.error.message), url_for("subscriptions.view", public_id=subscription.public_id),
                        "error")
    return view(public_id, cheque_form=form), 422


def _record_later_cheque(subscription: Subscription):
    form = ChequeForm()
    form.months.choices = _month_choices(subscription)
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            recorded = cheques.record_cheque_months(
                db.session, current_user, subscription, issuer(subscription), months=form.months.data,
                amount_minor=form.amount_minor, cheque_number_raw=form.cheque_number.data, bank=form.bank.data,
                received_on=form.received_on.data, today=utcnow().date())
        if work.ok:
            return done(_("Cheque %(number)s recorded for %(months)s.", number=recorded[0].cheque_number,
                          months=", ".join(_month_name(activation.month_paid_for(subscription, p))
                                           for p in recorded)),
                        url_for("subscriptions.view", public_id=subscription.public_id))
    return view(subscription.public_id, cheque_form=form), 422


@bp.route("/<public_id>/payments/<payment_public_id>/refund-made", methods=["POST"])
@allow(*CHEQUE_STAFF)
def record_refund_made(public_id: str, payment_public_id: str):
    """What was owed on a cheque (a withdrawal's refund) was paid back by transfer: recorded, once."""
    subscription = get_or_404(Subscription, public_id)
    payment = next((p for p in activation.payments_of(db.session, subscription)
                    if p.public_id == payment_public_id), None)
    if payment is None:
        abort(404)
    form = RefundMadeForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            payments.record_refund_made(db.session, current_user, payment, reference=form.reference.data)
        if work.ok:
            return done(_("Refund of %(amount)s recorded as paid back.", amount=money(payment.refunded_minor,
                                                                                     payment.currency)),
                        url_for("subscriptions.view", public_id=subscription.public_id))
    return done(" ".join(tr(m) for errors in form.errors.values() for m in errors) or
                tr(payments.NoRefundOwed.message), url_for("subscriptions.view", public_id=subscription.public_id),
                "error")


@bp.route("/<public_id>/adhesion.pdf")
@permit(READ_SUBSCRIPTIONS)
def adhesion_pdf(public_id: str):
    """The sealed adhesion once signed, else the adhesion shown for signature."""
    subscription = get_or_404(Subscription, public_id)
    if subscription.sealed_pdf is not None:
        pdf, name = subscription.sealed_pdf, f"{subscription.reference}.pdf"
    elif subscription.document_pdf is not None:
        pdf, name = subscription.document_pdf, f"{subscription.reference}-for-signature.pdf"
    else:
        abort(404)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.route("/volunteers/<public_id>")
@permit(READ_SUBSCRIPTIONS)
def volunteer(public_id: str):
    v = get_or_404(Volunteer, public_id)
    return render_template("subscriptions/volunteer.html", v=v,
                           subscriptions=staff.subscriptions_of(db.session, v),
                           links=staff.links_of(db.session, v), events=staff.funnel_timeline(db.session, v),
                           may_send=_links_allowed())


@bp.route("/volunteers/<public_id>/link", methods=["POST"])
@allow(*SUBSCRIPTION_STAFF)
def send_link(public_id: str):
    """Issue a personal link and e-mail it to the volunteer (through the outbox, in their language)."""
    v = get_or_404(Volunteer, public_id)
    back = request.form.get("back", "")
    if not (back.startswith("/subscriptions/") and "//" not in back and len(back) < 200 and back.isprintable()):
        back = url_for("subscriptions.volunteer", public_id=v.public_id)
    with unit_of_work() as work:
        link, raw = staff.invite(db.session, v, actor=current_user)
        with link_context():
            url = url_for("volunteer.open_link", token=raw, _external=True)
        queue_mail("volunteer_link", to=v.email, locale=v.language if v.language in LANGUAGES else "en", volunteer_name=v.first_name, url=url,
                   expires_on=link.expires_at.date())
    if work.ok:
        return done(_("A personal link was sent to %(email)s (valid until %(date)s).", email=v.email,
                      date=format_day(link.expires_at)), back)
    return done(_("The link could not be sent."), back, "error")
