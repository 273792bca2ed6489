"""Keyset-free, simple page/offset pagination for staff lists (bounded page size)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, request
from sqlalchemy import Select, func, select

from .extensions import db


#: beyond any list we keep, and small enough that page × page size stays far inside a 64-bit offset
MAX_PAGE = 1_000_000


def page_number(raw: str | None) -> int:
    """The one reading of a `page` argument: a whole number from 1 to MAX_PAGE (absent: 1); anything else
    is a 400, so an offset past what the database can count never reaches it."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        abort(400)
    return int(raw)


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def count(stmt: Select) -> int:
    """How many rows `stmt` selects."""
    return db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()


def paginate(stmt: Select, per_page: int = 25, page: int | None = None, total: int | None = None) -> Page:
    """A page of `stmt`'s rows; `total`: the count, when the caller knows it already."""
    if page is None:
        page = page_number(request.args.get("page"))
    if total is None:
        total = count(stmt)
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return Page(items=items, page=page, per_page=per_page, total=total)
