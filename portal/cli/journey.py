"""`flask journey link FILE_REF`: staff issue a volunteer's personal link by hand (printed, to send)."""
from __future__ import annotations

import click
from flask import url_for
from flask.cli import AppGroup
from sqlalchemy import select

from core.db import utcnow
from funnel import journey
from funnel.volunteers import find_volunteer

from ..edge import command_unit_of_work
from ..extensions import db
from ..mail import link_context

cli = AppGroup("journey", help="The volunteer's journey: personal links, the reconciliation of half-done adhesions.")


@cli.command("link")
@click.argument("file_ref")
@click.option("--days", default=journey.DEFAULT_LINK_DAYS, show_default=True, type=click.IntRange(1, 365),
              help="How long the link stays valid.")
def issue_link(file_ref: str, days: int) -> None:
    """Issue a personal link for the volunteer with this file reference and print it."""
    with command_unit_of_work():
        volunteer = find_volunteer(db.session, file_ref=file_ref)
        link, raw = journey.issue_link(db.session, volunteer, days=days)
    with link_context():
        click.echo(url_for("volunteer.open_link", token=raw, _external=True))
    click.echo(f"valid until {link.expires_at:%Y-%m-%d %H:%M} UTC")


@cli.command("reconcile")
def reconcile() -> None:
    """Find and repair half-done adhesions: paid (or being paid) at Stripe but not active, active without a
    certificate or its e-mail, a paid month without its commission; refund what was collected for a subscription
    closed meanwhile, and what was paid for days after an end of cover moved earlier. Safe to run again: it changes
    nothing twice."""
    from funnel.activation import half_done
    from funnel.models import Subscription

    from ..payments import gateway
    from ..volunteer.activation import settle_and_notify

    with command_unit_of_work():
        ids = [s.id for s in half_done(db.session)]
        ids += db.session.scalars(select(Subscription.id).where(
            Subscription.certificate_sha256.is_not(None), Subscription.certificate_message_id.is_(None))).all()
    repaired = 0
    for subscription_id in dict.fromkeys(ids):
        with command_unit_of_work():
            subscription = db.session.get(Subscription, subscription_id)
            before = (subscription.state, subscription.certificate_sha256, subscription.paid_at,
                      subscription.certificate_message_id)
            settle_and_notify(subscription, gateway())
            after = (subscription.state, subscription.certificate_sha256, subscription.paid_at,
                     subscription.certificate_message_id)
            if after != before:
                repaired += 1
                click.echo(f"{subscription.reference}: {before[0].value} -> {subscription.state.value}")
    click.echo(f"checked {len(dict.fromkeys(ids))}, repaired {repaired}")
    _settle_additions(gateway())
    _refund_closed(gateway())
    _refund_beyond_end(gateway())


def _settle_additions(gateway) -> None:
    """A dependant's charge the provider confirmed without its webhook reaching us: its commission is posted."""
    from funnel.additions import settle_addition, unsettled
    from funnel.addition_models import DependantAddition
    from funnel.payments import refresh_payment

    from ..volunteer.activation import issuer

    with command_unit_of_work():
        ids = [a.id for a in unsettled(db.session)]
    settled = 0
    for addition_id in ids:
        with command_unit_of_work():
            addition = db.session.get(DependantAddition, addition_id)
            if addition.payment is not None:
                refresh_payment(db.session, gateway, addition.payment)
            settled += settle_addition(db.session, addition, issuer(addition.subscription),
                                       today=utcnow().date())
    click.echo(f"settled {settled} of {len(ids)} dependant addition(s) awaiting their payment")


def _refund_closed(gateway) -> None:
    """Money collected for a subscription closed meanwhile (the mission ended before the cover was active) is
    refunded, each payment once."""
    from funnel.activation import closed_with_money, refund_closed
    from funnel.models import Subscription

    with command_unit_of_work():
        ids = [s.id for s in closed_with_money(db.session)]
    count = 0
    for subscription_id in ids:
        with command_unit_of_work():
            subscription = db.session.get(Subscription, subscription_id)
            for payment in refund_closed(db.session, gateway, subscription):
                count += 1
                click.echo(f"{subscription.reference}: closed, refunded {payment.amount_minor / 100:.2f} "
                           f"{payment.currency.upper()}")
    click.echo(f"refunded {count} payment(s) of closed subscriptions")


def _refund_beyond_end(gateway) -> None:
    """What was paid for days after an end of cover moved earlier and is not refunded yet (a SEPA debit collected
    after the refund job ran, a job lost) is refunded, once."""
    from funnel.cover_refunds import refund_beyond_end, to_refund
    from funnel.models import Subscription

    with command_unit_of_work():
        ids = [s.id for s in to_refund(db.session, today=utcnow().date())]
    total = 0
    for subscription_id in ids:
        with command_unit_of_work():
            subscription = db.session.get(Subscription, subscription_id)
            total += refund_beyond_end(db.session, gateway, subscription, today=utcnow().date())
    click.echo(f"refunded {total / 100:.2f} paid beyond the end of cover on {len(ids)} subscription(s)")
