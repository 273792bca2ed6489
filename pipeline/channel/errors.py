"""The secure channel's refusals (each a `core.errors.DomainError`)."""
from __future__ import annotations

from core.errors import DomainError
from core.i18n import N_


class ChannelRefused(DomainError):
    code = "health_channel_refused"


class NotAllowed(ChannelRefused):
    code = "forbidden"
    status = 403
    message = N_("Only the broker's account managers send the client a link to the secure channel.")


class LinkInvalid(ChannelRefused):
    code = "link_invalid"
    status = 404
    message = N_("This link is not valid, or it has expired. Ask your account manager for a new one.")


class UploadRefused(ChannelRefused):
    """The file itself is refused (size, type): nothing of it is stored."""

    code = "upload_refused"
    field = "document"


class VirusFound(UploadRefused):
    code = "upload_infected"
    message = N_("This file was refused: the virus scan found a threat in it. Nothing was kept.")


class ScanFailed(UploadRefused):
    code = "upload_scan_failed"
    status = 503
    message = N_("The file could not be checked for viruses just now, so it was not kept. Try again later.")


class DocumentPurged(ChannelRefused):
    code = "document_purged"
    status = 410
    message = N_("This document was deleted under the retention schedule.")
