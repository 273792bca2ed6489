"""The signed-in user of a request, loaded for a fraction of what the ORM's loading costs.

Every signed-in request starts by loading its user and the user's firm (nearly every page needs the firm: scoping,
navigation). Through `session.execute(select(User).options(joinedload(...)))` that costs about 200 µs of Python
per request — the ORM sets up its loading context and row processors on every execution — more than the query
itself and as much as a partner's whole home page reads. Here the same row comes from one prebuilt Core statement
on the session's connection (the columns' types still convert its values), and the two objects are put into the
session as the ORM's loading would leave them: persistent, with an identity, nothing pending, every column loaded
and every relationship not loaded (read lazily, as before: `user.organisation` is set, `organisation.users` is
not, so that it holds the whole team when read).

Nothing about who may sign in changes: the statement has the same conditions (the session's token, an active
account, not an API-only role), and the user is read afresh on every request.
"""
from __future__ import annotations

from sqlalchemy import Column, bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core.accounts import API_ONLY_ROLES, Organisation, User
from core.db import members_in


def _columns(model, prefix: str) -> list[tuple[str, str, Column]]:
    """(attribute key, label in the statement, column) of each mapped table column of `model`."""
    out = []
    for prop in model.__mapper__.column_attrs:
        column = prop.columns[0]
        if isinstance(column, Column) and column.table is model.__table__:
            out.append((prop.key, f"{prefix}{prop.key}", column))
    return out


_USER = _columns(User, "u_")
_ORG = _columns(Organisation, "o_")
_ORG_ID = next(label for key, label, _c in _ORG if key == "id")

BY_SESSION_TOKEN = (
    select(*(c.label(label) for _k, label, c in _USER), *(c.label(label) for _k, label, c in _ORG))
    .select_from(User.__table__)
    .outerjoin(Organisation.__table__, Organisation.__table__.c.id == User.__table__.c.organisation_id)
    .where(User.session_token == bindparam("token"), User.active.is_(True),
           ~members_in(User.role, API_ONLY_ROLES)))  # service accounts: API tokens only


def _persistent(session: Session, model, values: dict):
    """`model`'s row `values` as a persistent instance of `session` (the one it holds already, if any)."""
    held = session.identity_map.get(model.__mapper__.identity_key_from_primary_key((values["id"],)))
    if held is not None:
        return held
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)  # loaded values, as the ORM's loader writes them: no change events
    make_transient_to_detached(instance)  # its identity; every attribute not given is left to load when read
    session.add(instance)
    return instance


def load_by_session_token(session: Session, token: str) -> User | None:
    """The active, signed-in user whose session token is `token`, with its firm; None if there is none."""
    row = session.connection().execute(BY_SESSION_TOKEN, {"token": token}).first()
    if row is None:
        return None
    values = row._mapping
    held = session.identity_map.get(User.__mapper__.identity_key_from_primary_key((values["u_id"],)))
    if held is not None:
        return held
    user = _persistent(session, User, {key: values[label] for key, label, _c in _USER})
    org = None
    if values[_ORG_ID] is not None:
        org = _persistent(session, Organisation, {key: values[label] for key, label, _c in _ORG})
    set_committed_value(user, "organisation", org)
    return user
