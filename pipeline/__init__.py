"""Leads and cases: the partner business from referral to contract, Flask-free (DESIGN.md §3)."""
