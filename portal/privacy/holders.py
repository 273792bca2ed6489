"""Every package that holds personal data registers its holder with compliance.privacy on import: importing this
module is how the portal and its commands make sure the registry is complete."""
from __future__ import annotations

import agreements.privacy  # noqa: F401
import compliance.complaint_privacy  # noqa: F401
import funnel.privacy  # noqa: F401
import ledger.privacy  # noqa: F401
import pipeline.privacy  # noqa: F401
from compliance import privacy


def registered() -> list[str]:
    return [holder.name for holder in privacy.holders()]
