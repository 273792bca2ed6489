"""The complaints register's screens: the public form anyone (a client, a partner's user, a volunteer) lodges a
complaint with, and compliance's and the administrators' register, record form, actions and reports."""
from __future__ import annotations

from datetime import date

from flask import current_app

from compliance.complaints import DeadlinePolicy


def deadline_policy() -> DeadlinePolicy:
    """The deadlines configured (portal/config.py, COMPLAINT_*)."""
    cfg = current_app.config
    closed = frozenset(date.fromisoformat(d.strip()) for d in cfg["COMPLAINT_CLOSED_DAYS"].split(",") if d.strip())
    return DeadlinePolicy(acknowledge_business_days=cfg["COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS"],
                          answer_months=cfg["COMPLAINT_ANSWER_MONTHS"],
                          remind_business_days=cfg["COMPLAINT_REMINDER_BUSINESS_DAYS"], holidays=closed)
