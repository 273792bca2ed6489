"""The holders of every package, registered as the portal registers them (portal/privacy/holders.py), for the
domain tests (which import no portal module)."""
from __future__ import annotations


def register_all() -> None:
    import agreements.privacy  # noqa: F401
    import compliance.complaint_privacy  # noqa: F401
    import funnel.privacy  # noqa: F401
    import ledger.privacy  # noqa: F401
    import pipeline.privacy  # noqa: F401
