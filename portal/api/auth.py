from __future__ import annotations

from flask import request

from ..accounts.operations import user_for_token
from ..extensions import db
from ..security.access import authenticates


@authenticates("api")
def authenticate_bearer():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    user = user_for_token(db.session, raw.strip())
    if user is not None and db.session.dirty:
        db.session.commit()  # last_used_at
    return user
