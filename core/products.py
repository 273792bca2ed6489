"""Product lines, shared by agreements (commission schedules), cases and the ledger."""
import enum

from .i18n import N_


class ProductLine(enum.Enum):
    individual = "individual"
    family = "family"
    sme = "sme"
    corporate = "corporate"
    #: the volunteers' top-up covers, sold online (funnel)
    volunteer_health_topup = "volunteer_health_topup"
    volunteer_prevoyance_topup = "volunteer_prevoyance_topup"

    @property
    def label(self) -> str:
        return PRODUCT_LINE_LABELS[self]


#: the lines partners' agreements and the broker's cases cover (the volunteers' top-ups are direct online sales)
PARTNER_LINES = (ProductLine.individual, ProductLine.family, ProductLine.sme, ProductLine.corporate)
#: why a case (form or API) refuses a volunteer top-up line
NOT_A_PARTNER_LINE = N_("The volunteers' top-up covers are sold online and placed by the system, not through a "
                        "case: choose individual, family, SME or corporate.")

PRODUCT_LINE_LABELS = {
    ProductLine.individual: N_("Individual"),
    ProductLine.family: N_("Family"),
    ProductLine.sme: N_("SME"),
    ProductLine.corporate: N_("Corporate"),
    ProductLine.volunteer_health_topup: N_("Volunteer health top-up"),
    ProductLine.volunteer_prevoyance_topup: N_("Volunteer death and disability top-up"),
}
