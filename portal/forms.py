"""Form pieces shared across areas."""
from __future__ import annotations

from flask_babel import get_locale, lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, ValidationError, widgets

from compliance.errors import CommunicationModelRefused
from compliance.onboarding import check_communication_model
from core.accounts import LANGUAGES

from . import countries
from .i18n import LANGUAGE_NAMES, tr


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 countries named in the reader's language (portal.countries)."""
    return countries.choices(get_locale().territories)


def enum_choices(enum_cls, members=None) -> list[tuple[str, str]]:
    return [(member.value, tr(member.label)) for member in (enum_cls if members is None else members)]


def language_choices() -> list[tuple[str, str]]:
    return [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


def set_firm_choices(form) -> None:
    """Country of establishment, zones and languages, as both firm forms (admin, application) offer them."""
    countries = country_choices()
    form.country.choices = [("", _l("— choose —"))] + countries
    form.zones.choices = countries
    form.languages.choices = language_choices()


def check_model_for_status(form, field) -> None:
    """A firm form's communication model is one its status may choose (compliance.onboarding holds the rule)."""
    try:
        check_communication_model(form.status.data, field.data)
    except CommunicationModelRefused as refusal:
        raise ValidationError(tr(refusal.message)) from None


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class EnumSelectField(SelectField):
    """A select bound to an Enum: `data` is the enum member (or None when blank). `members` narrows what is
    offered; a member of the enum left out is refused with `refused` (a clearer word than "not a valid choice")."""

    def __init__(self, label=None, enum=None, blank: str | None = None, members=None, refused=None, **kwargs):
        self.enum = enum
        self.blank = blank
        self.members = tuple(members) if members is not None else None
        self.refused = refused
        super().__init__(label, coerce=self._coerce, **kwargs)

    def _coerce(self, value):
        if value is None or value == "" or isinstance(value, self.enum):
            return value or None
        return self.enum(value)

    def iter_choices(self):
        self.choices = ([("", self.blank)] if self.blank is not None else []) + enum_choices(self.enum, self.members)
        return super().iter_choices()

    def pre_validate(self, form):
        self.choices = ([("", self.blank)] if self.blank is not None else []) + enum_choices(self.enum, self.members)
        if self.data is None and self.blank is not None:
            return
        if self.members is not None and self.data is not None and self.data not in self.members:
            raise ValidationError(self.refused or _l("Not a valid choice."))
        super().pre_validate(form)

    def process_formdata(self, valuelist):
        if valuelist:
            try:
                self.data = self._coerce(valuelist[0])
            except ValueError as exc:
                self.data = None
                raise ValueError(_l("Not a valid choice.")) from exc


def apply_domain_errors(form, exc) -> None:
    """Show a domain error's field messages on the form (the rest goes to the form's top)."""
    params = getattr(exc, "params", {})
    shown = False
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + [tr(m, **params) for m in messages]
            shown = True
    if not shown:
        form.form_errors.append(tr(exc.message, **params))
