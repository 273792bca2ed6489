"""Partner firms and the people who work in them or for the broker: the account models every layer
reads. Flask-free: `User` carries the four attributes Flask-Login reads, so the portal signs people in without
the model importing Flask."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, created_at, enum_column, intpk, new_secret, public_id, str255
from .i18n import N_
from .partners import Lifecycle


class Role(enum.Enum):
    admin = "admin"
    compliance = "compliance"
    finance = "finance"
    account_manager = "account_manager"
    partner_admin = "partner_admin"
    partner_member = "partner_member"
    volunteer = "volunteer"
    programme_operator = "programme_operator"
    #: the programme's own people: a read-only dashboard of aggregates on the web, and nothing else
    programme_viewer = "programme_viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.admin: N_("Administrator"),
    Role.compliance: N_("Compliance officer"),
    Role.finance: N_("Finance"),
    Role.account_manager: N_("Account manager"),
    Role.partner_admin: N_("Partner administrator"),
    Role.partner_member: N_("Partner member"),
    Role.volunteer: N_("Volunteer"),
    Role.programme_operator: N_("Programme operator (API)"),
    Role.programme_viewer: N_("Programme (read-only)"),
}
#: service accounts: they use API tokens and never sign in to the web pages
API_ONLY_ROLES = frozenset({Role.programme_operator})
#: let in only where a route names the role (`allow`), never by "any signed-in user": the service account, and the
#: programme's read-only viewers (their whole web access is the programme's dashboard; no API token either)
NAMED_ONLY_ROLES = API_ONLY_ROLES | {Role.programme_viewer}
#: no API token: the programme's viewers read their dashboard on the web only
WEB_ONLY_ROLES = frozenset({Role.programme_viewer})
#: every role that signs in to the web pages
WEB_ROLES = frozenset(Role) - API_ONLY_ROLES
STAFF_ROLES = frozenset({Role.admin, Role.compliance, Role.finance, Role.account_manager})
PARTNER_ROLES = frozenset({Role.partner_admin, Role.partner_member})


class PartnerStatus(enum.Enum):
    specialist_broker = "specialist_broker"
    generalist_broker = "generalist_broker"
    introducer = "introducer"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_broker(self) -> bool:
        return self is not PartnerStatus.introducer


STATUS_LABELS = {
    PartnerStatus.specialist_broker: N_("Specialist broker"),
    PartnerStatus.generalist_broker: N_("Generalist broker"),
    PartnerStatus.introducer: N_("Non-broker introducer"),
}


class CommunicationModel(enum.Enum):
    partner_leads = "partner_leads"
    broker_leads = "broker_leads"
    hybrid = "hybrid"

    @property
    def label(self) -> str:
        return COMMUNICATION_LABELS[self]


COMMUNICATION_LABELS = {
    CommunicationModel.partner_leads: N_("Partner leads the client communication"),
    CommunicationModel.broker_leads: N_("Broker leads the client communication"),
    CommunicationModel.hybrid: N_("Hybrid"),
}

#: the models a firm of each status may choose. An introducer never leads the client communication on insurance
#: (its role limits, DESIGN §1): the broker leads, or they share it (hybrid).
COMMUNICATION_MODELS = {
    PartnerStatus.introducer: (CommunicationModel.broker_leads, CommunicationModel.hybrid),
}


def communication_models_for(status: PartnerStatus) -> tuple[CommunicationModel, ...]:
    return COMMUNICATION_MODELS.get(status, tuple(CommunicationModel))


class Register(enum.Enum):
    orias = "orias"
    fca = "fca"
    ivass_rui = "ivass_rui"
    dgsfp = "dgsfp"
    other = "other"

    @property
    def label(self) -> str:
        return REGISTER_LABELS[self]


REGISTER_LABELS = {
    Register.orias: N_("ORIAS (France)"),
    Register.fca: N_("FCA register (United Kingdom)"),
    Register.ivass_rui: N_("IVASS RUI (Italy)"),
    Register.dgsfp: N_("DGSFP (Spain)"),
    Register.other: N_("Other register"),
}

LANGUAGES = ("en", "fr", "it", "es", "ru", "uk")


class Organisation(Base):
    """A partner firm."""

    __tablename__ = "organisations"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    legal_name: Mapped[str255]
    status: Mapped[PartnerStatus] = mapped_column(enum_column(PartnerStatus))
    #: the number in the register named by `register`; required for broker statuses
    registration_number: Mapped[str | None] = mapped_column(String(64))
    register: Mapped[Register | None] = mapped_column(enum_column(Register))
    #: ISO 3166-1 alpha-2 country of establishment
    country: Mapped[str] = mapped_column(String(2))
    #: ISO country codes where the firm's clients live and where it operates
    zones: Mapped[list] = mapped_column(JSON, default=list)
    communication_model: Mapped[CommunicationModel] = mapped_column(enum_column(CommunicationModel))
    #: languages the firm works in (subset of LANGUAGES)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    #: a firm becomes active only through approval and a signed agreement (agreements.operations)
    lifecycle: Mapped[Lifecycle] = mapped_column(enum_column(Lifecycle), default=Lifecycle.applied,
                                                 server_default="applied", index=True)
    #: company registration (trade register, SIREN, CIF…), distinct from the intermediary register
    company_number: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(String(255))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    #: the firm asked to be copied on key client communications (each client's consent still decides)
    cc_key_communications: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: how the firm shares client data (consent, secure exchange, minimisation), in its own words
    data_sharing_approach: Mapped[str | None] = mapped_column(Text)
    #: how the firm discloses its remuneration and conflicts of interest to clients
    disclosure_approach: Mapped[str | None] = mapped_column(Text)
    #: where commissions are paid: the account holder, IBAN and BIC (checked with schwifty when entered and
    #: again when a payout run is prepared), and the smallest payout worth a transfer, in minor units of the
    #: run's currency (a smaller balance is carried forward)
    payout_account_holder: Mapped[str | None] = mapped_column(String(70))
    payout_iban: Mapped[str | None] = mapped_column(String(34))
    payout_bic: Mapped[str | None] = mapped_column(String(11))
    payout_minimum_minor: Mapped[int] = mapped_column(Integer, default=5_000, server_default="5000")

    @property
    def may_do_business(self) -> bool:
        """New leads and cases need an active firm (an active signed agreement makes it active)."""
        return self.lifecycle is Lifecycle.active

    users: Mapped[list[User]] = relationship(back_populates="organisation", order_by="User.full_name")

    def __repr__(self) -> str:
        return f"<Organisation {self.legal_name!r} {self.status.value}>"


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: stored lower-cased; unique
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str255]
    #: argon2id; empty until the user sets a password from an invitation
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the id kept in the login session; rotated on password change or deactivation to end every session
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)
    last_login_at: Mapped[datetime | None]
    #: set when the user proved they read mail at this address (first password set from an e-mailed link)
    email_verified_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    # Flask-Login's user protocol, written out so the model needs no Flask import
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_partner(self) -> bool:
        return self.role in PARTNER_ROLES

    @property
    def api_only(self) -> bool:
        return self.role in API_ONLY_ROLES

    @property
    def named_only(self) -> bool:
        return self.role in NAMED_ONLY_ROLES

    @property
    def partner_status(self) -> PartnerStatus | None:
        return self.organisation.status if self.is_partner and self.organisation else None

    def rotate_session_token(self) -> None:
        self.session_token = new_secret()

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"
