"""The two ways a roster delivery arrives, both applied by funnel.roster.apply_events with the same semantics and
audited: an API batch of at most `MAX_BATCH` records, and a CSV file staff import (command or upload).

The CSV file: a header line naming the columns (any order; UTF-8 with or without BOM; `,` or `;` between
fields, as French Excel saves it), then one record per line. The columns are the JSON fields of a record
(`CSV_COLUMNS`); an empty cell is a field not given. `dependants` is compact: entries separated by `|`, each
`category:birth_date` with optional `:first_name:last_name` (`spouse:1999-07-14|child:2024-03-01:Noé`); `-`
says the volunteer has none; an empty cell says nothing (the dependants stay as they are). A record's
`position` in the log of a CSV import is its line number in the file.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core import audit
from core.errors import DomainError
from core.i18n import N_

from .models import Outcome, RosterImport, RosterSource
from .roster import BatchResult, RecordResult, apply_events

#: records per API batch, and per chunk of a CSV import
MAX_BATCH = 500
CSV_COLUMNS = ("event", "event_id", "occurred_at", "file_ref", "first_name", "last_name", "email", "birth_date",
               "programme", "mission_country", "mission_start", "mission_end", "language", "dependants",
               "end_date", "reason")
REQUIRED_COLUMNS = ("event", "event_id", "occurred_at", "file_ref")
NO_DEPENDANTS = "-"
_DEPENDANT_PARTS = ("category", "birth_date", "first_name", "last_name")


class RosterFileInvalid(DomainError):
    """The file cannot be read as a roster at all (nothing of it is applied)."""

    code = "roster_file_invalid"
    field = "file"


# --- the API ------------------------------------------------------------------------------------------------

def receive_batch(session: Session, actor, events: Sequence, *, ip: str | None = None,
                  now: datetime | None = None) -> BatchResult:
    """Apply an API delivery (the caller checked it has at most MAX_BATCH records) and audit its counts."""
    batch = apply_events(session, events, source=RosterSource.api, actor_id=getattr(actor, "id", None), now=now)
    _audit(session, actor, batch.roster_import, ip)
    return batch


def _audit(session: Session, actor, roster_import: RosterImport, ip: str | None) -> None:
    audit.record(session, "roster.imported", actor=actor, subject=roster_import, ip=ip,
                 source=roster_import.source.value, filename=roster_import.filename,
                 **{name: getattr(roster_import, name) for name in COUNTS})


COUNTS = ("received", "created", "updated", "unchanged", "rejected", "replayed")


# --- CSV files ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvRecord:
    #: the line of the file the record starts on
    line: int
    record: dict


def _dependants(cell: str) -> list:
    if cell == NO_DEPENDANTS:
        return []
    found = []
    for entry in cell.split("|"):
        parts = [part.strip() for part in entry.split(":")]
        item = {name: value for name, value in zip(_DEPENDANT_PARTS, parts, strict=False) if value}
        if len(parts) > len(_DEPENDANT_PARTS):
            item["extra"] = ":".join(parts[len(_DEPENDANT_PARTS):])  # refused by name, as an unknown field
        found.append(item)
    return found


def read_roster_csv(content: bytes) -> list[CsvRecord]:
    """The records of a roster CSV file, each as the mapping the API would carry; RosterFileInvalid when the file
    is not UTF-8 text, has no header, or names a column that is not a roster field (a misspelt column would
    otherwise drop a field silently)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterFileInvalid(N_("The file is not UTF-8 text: save it as “CSV UTF-8”.")) from None
    if "\x00" in text:
        raise RosterFileInvalid(N_("The file is not UTF-8 text: save it as “CSV UTF-8”."))
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first.count(";") > first.count(",") else ",")
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise RosterFileInvalid(N_("The file is empty: its first line names the columns."))
        columns = [cell.strip().lower() for cell in header]
        unknown = [c for c in columns if c and c not in CSV_COLUMNS]
        if unknown:
            raise RosterFileInvalid(N_("Unknown columns: %(columns)s. The columns are: %(known)s."),
                                    columns=", ".join(unknown)[:200], known=", ".join(CSV_COLUMNS))
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise RosterFileInvalid(N_("Missing columns: %(columns)s."), columns=", ".join(missing))
        if len(set(columns) - {""}) != len([c for c in columns if c]):
            raise RosterFileInvalid(N_("A column is named twice."))
        records = []
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                record = {}
                for name, cell in zip(columns, row, strict=False):
                    cell = cell.strip()
                    if name and cell:
                        record[name] = _dependants(cell) if name == "dependants" else cell
                records.append(CsvRecord(line=line, record=record))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RosterFileInvalid(N_("The file is not a valid CSV file (line %(line)s)."), line=reader.line_num) \
            from exc
    if not records:
        raise RosterFileInvalid(N_("The file has no records under its header line."))
    return records


@dataclass(frozen=True)
class CsvImport:
    roster_import: RosterImport
    #: every record's result; `position` is its line number in the file
    results: list[RecordResult]

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome is outcome and not r.replayed for r in self.results)

    @property
    def rejected(self) -> list[RecordResult]:
        return [r for r in self.results if r.outcome is Outcome.rejected]


def import_roster_csv(session: Session, actor, records: Sequence[CsvRecord], *, filename: str | None = None,
                      ip: str | None = None, now: datetime | None = None,
                      progress: Callable[[int], None] | None = None) -> CsvImport:
    """Apply the records of a roster CSV file (`read_roster_csv`) as one delivery, MAX_BATCH records at a time in
    the file's order (`progress` is told how many records each chunk applied): every line gets its result, the
    valid ones applied. Flushes; the caller commits."""
    roster_import = RosterImport(source=RosterSource.csv, filename=(filename or "")[:255] or None,
                                 actor_id=getattr(actor, "id", None), received=0, created=0, updated=0,
                                 unchanged=0, rejected=0, replayed=0)
    session.add(roster_import)
    results: list[RecordResult] = []
    for start in range(0, len(records), MAX_BATCH):
        chunk = records[start:start + MAX_BATCH]
        # each record's position is its line: a chunk is applied run by run of consecutive lines
        for run in _runs(chunk):
            results += apply_events(session, [r.record for r in run], now=now, roster_import=roster_import,
                                    first_position=run[0].line).results
        if progress is not None:
            progress(len(chunk))
    _audit(session, actor, roster_import, ip)
    return CsvImport(roster_import=roster_import, results=results)


def _runs(records: list[CsvRecord]) -> list[list[CsvRecord]]:
    runs: list[list[CsvRecord]] = []
    for record in records:
        if runs and runs[-1][-1].line + 1 == record.line:
            runs[-1].append(record)
        else:
            runs.append([record])
    return runs
