"""The pipeline tests run on a plain session, without Flask (tests/domain.py)."""
from tests.domain import *  # noqa: F401,F403  (session, app, the check that no app context is active)
