"""The consent register's vocabulary: what a consent receipt records (ISO/IEC 29184 and the Kantara consent
receipt): when, how it was collected, under which jurisdiction and language, for which purposes, which policy and
text version the person saw, the controller, whether special-category data is involved, and its withdrawal.

The consents themselves are kept by the packages that collect them (pipeline: partners' leads and cases; funnel:
the volunteer's adhesion); this module names the methods and purposes, their labels, and who the controller is."""
from __future__ import annotations

import enum
import weakref

from sqlalchemy.orm import Session

from core.i18n import N_

#: the privacy notice in force: a new notice is a new version (what a receipt says the person was shown)
PRIVACY_POLICY_VERSION = "2026-12"
#: the controller recorded when none was configured for the database (the portal sets BROKER_NAME)
DEFAULT_CONTROLLER = "BIG Insurance Brokers SAS"


class ConsentMethod(enum.Enum):
    """How a consent was collected."""

    partner_form = "partner_form"
    partner_api = "partner_api"
    volunteer_adhesion = "volunteer_adhesion"
    #: collected by a partner before the register recorded the method (form or API: not known)
    partner_unrecorded = "partner_unrecorded"

    @property
    def label(self) -> str:
        return METHOD_LABELS[self]


METHOD_LABELS = {
    ConsentMethod.partner_form: N_("Partner's form on the portal"),
    ConsentMethod.partner_api: N_("Partner's system through the API"),
    ConsentMethod.volunteer_adhesion: N_("Volunteer's online adhesion"),
    ConsentMethod.partner_unrecorded: N_("Collected by the partner (form or API, not recorded)"),
}


class Purpose(enum.Enum):
    """What a person agreed their data is used for."""

    share_with_broker = "share_with_broker"
    cc_on_milestones = "cc_on_milestones"
    adhesion = "adhesion"

    @property
    def label(self) -> str:
        return PURPOSE_LABELS[self]


PURPOSE_LABELS = {
    Purpose.share_with_broker: N_("Details shared with the broker to be advised on insurance"),
    Purpose.cc_on_milestones: N_("The introducing partner copied on the key steps"),
    Purpose.adhesion: N_("Adhesion to the volunteers' top-up cover (information notice read)"),
}


def purpose_label(value: str) -> str:
    try:
        return Purpose(value).label
    except ValueError:
        return value


_CONTROLLERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def use_controller(engine, name: str) -> None:
    """The controller named on the consents recorded through `engine` (the application sets it once)."""
    _CONTROLLERS[engine] = name


def controller_of(session: Session) -> str:
    bind = session.get_bind()
    return _CONTROLLERS.get(getattr(bind, "engine", bind)) or DEFAULT_CONTROLLER
