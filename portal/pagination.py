"""Keyset-free, simple page/offset pagination for staff lists (bounded page size)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, func, select

from .extensions import db


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


def paginate(stmt: Select, per_page: int = 25, page: int | None = None) -> Page:
    if page is None:
        page = request.args.get("page", 1, type=int) or 1
    page = max(1, page)
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return Page(items=items, page=page, per_page=per_page, total=total)
