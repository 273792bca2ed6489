"""Product lines, shared by agreements (commission schedules), cases and the ledger."""
import enum

from .i18n import N_


class ProductLine(enum.Enum):
    individual = "individual"
    family = "family"
    sme = "sme"
    corporate = "corporate"

    @property
    def label(self) -> str:
        return PRODUCT_LINE_LABELS[self]


PRODUCT_LINE_LABELS = {
    ProductLine.individual: N_("Individual"),
    ProductLine.family: N_("Family"),
    ProductLine.sme: N_("SME"),
    ProductLine.corporate: N_("Corporate"),
}
