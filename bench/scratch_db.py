"""A throwaway PostgreSQL database for a benchmark: created on the server of --database-url, dropped at the end."""
from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url


class PgDatabase:
    def __init__(self, base_url: str, prefix: str):
        url = make_url(base_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if not url.drivername.startswith("postgresql"):
            raise ValueError(f"--database-url must be a PostgreSQL URL, not {url.drivername}")
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.admin_url: URL = url
        self.url: URL = url.set(database=self.name)

    @property
    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        eng = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        try:
            with eng.connect() as conn:
                conn.execute(text(sql))
        finally:
            eng.dispose()

    def reachable(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            self._admin("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL here
            return str(exc).splitlines()[0]
        return None

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
