"""The errors every package shares: `DomainError`, the base of every refusal of a business rule, and the guard of
append-only records. Each domain package declares its own refusals in its `errors.py`; the portal maps any
`DomainError` to a response in one place (portal/errors.py)."""
from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation. `code` is the machine-readable name used by the API, `status` the
    HTTP status the portal answers with.

    The message is an untranslated msgid marked with core.i18n.N_, with %(name)s parameters given as keywords;
    the portal translates it on display. An error that always says the same thing declares it once, as the class
    attribute `message`, and is raised with its parameters only (`PeriodClosed(date=...)`); one about a single
    form field also declares `field`, or is raised with `field=` (the message is then shown under that field).
    `fields` maps several fields to their own messages."""

    code = "domain_error"
    status = 422
    #: the msgid of an error that always says the same thing (else the first argument when raising)
    message: str | None = None
    #: the form field the message belongs to, if it is about one
    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None, fields: dict | None = None,
                 **params):
        message = message or type(self).message
        if message is None:
            raise TypeError(f"{type(self).__name__} needs a message")
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
        field = field or type(self).field
        self.fields = fields or ({field: [message]} if field else {})


class NotFound(DomainError):
    code = "not_found"
    status = 404


class AppendOnlyViolation(RuntimeError):
    """A program tried to edit or delete a record that is kept as written (history, consents, events)."""
