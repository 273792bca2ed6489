"""Steps 5 and 6 on the web side: what the funnel's `activation.settle` needs from the app (the broker, the seal,
the insurer, the volunteer's language), and the certificate's e-mail through the outbox. The payment page, the
webhook and the reconciliation command all settle a subscription through `settle_and_notify`."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from core.db import utcnow
from core.outbox import attachment_provider
from funnel import activation
from funnel.models import Subscription
from funnel.payment_models import Payment

from ..agreements.services import seal_config
from ..extensions import db
from ..mail import queue_mail
from ..payments import settles_payments
from . import session as link_session

#: the certificate is issued in French or English; other languages read the English one
CERTIFICATE_LANGUAGES = ("fr", "en")


def certificate_language(subscription: Subscription) -> str:
    return subscription.language if subscription.language in CERTIFICATE_LANGUAGES else "en"


def issuer(subscription: Subscription) -> activation.Issuer:
    cfg = current_app.config
    return activation.Issuer(translate=link_session.translator(certificate_language(subscription)),
                             broker_name=cfg["BROKER_NAME"], seal_config=seal_config(),
                             insurer_code=cfg["FUNNEL_INSURER_CODE"], insurer_name=cfg["FUNNEL_INSURER_NAME"])


def settle_and_notify(subscription: Subscription, gateway=None) -> bool:
    """Settle the subscription (see funnel.activation.settle) and e-mail the certificate once it exists.
    Returns whether the certificate was issued now."""
    issued = activation.settle(db.session, gateway, subscription, issuer(subscription), today=utcnow().date())
    if subscription.certificate_sha256 is not None and subscription.certificate_message_id is None:
        message = queue_mail("certificate", to=(subscription.holder or {}).get("email", subscription.volunteer.email),
                             locale=certificate_language(subscription), volunteer=subscription.volunteer,
                             subscription=subscription, attachment_ref=f"certificate:{subscription.public_id}")
        activation.certificate_message_sent(db.session, subscription, message)
    return issued


@attachment_provider("certificate")
def certificate_attachment(db_session, public_id: str) -> tuple[str, str, bytes]:
    subscription = db_session.scalars(select(Subscription).where(Subscription.public_id == public_id)).one()
    return f"{subscription.reference}-certificate.pdf", "application/pdf", subscription.certificate_pdf


@settles_payments
def settle_first_payment(intent_id: str) -> None:
    """The webhook reported on this PaymentIntent: the subscription whose first month it pays moves on."""
    subscription = db.session.scalar(select(Subscription).join(Payment, Subscription.first_payment_id == Payment.id)
                                     .where(Payment.provider_intent_id == intent_id))
    if subscription is not None:
        settle_and_notify(subscription)
