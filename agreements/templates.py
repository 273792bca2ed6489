"""Versioned agreement templates kept in the repository as text, one file per kind, version and language:
`agreements/templates/<kind>/<version>/<language>.txt`.

Format: `@title …`, `@subtitle …`, `@label key text` lines; `# heading` starts a section; `- ` a bullet;
`@schedule` places the commission schedule table; other lines are paragraphs (blank line between). Text may
use `{placeholders}` from the agreement's context; an unknown placeholder is an error, not a blank.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.i18n import N_

from .errors import TemplateMissing

ROOT = Path(__file__).parent / "templates"


@dataclass
class Section:
    heading: str
    blocks: list[tuple[str, str]] = field(default_factory=list)
    schedule: bool = False


@dataclass
class RenderedTemplate:
    kind: str
    version: str
    language: str
    title: str
    subtitle: str
    reference: str
    labels: dict
    party_rows: list[list[str]]
    sections: list[Section]
    schedule_rows: list[list[str]]
    signatories: list[tuple[str, str]]


def available(kind: str) -> dict[str, list[str]]:
    """{version: [languages]} for a kind, newest version last."""
    base = ROOT / kind
    if not base.is_dir():
        return {}
    return {v.name: sorted(p.stem for p in v.glob("*.txt")) for v in sorted(base.iterdir())
            if v.is_dir() and not v.name.startswith("_")}


def latest_version(kind: str) -> str:
    versions = available(kind)
    if not versions:
        raise TemplateMissing(N_("No agreement template exists for this kind."))
    return list(versions)[-1]


def load(kind: str, version: str, language: str) -> str:
    path = ROOT / kind / version / f"{language}.txt"
    if not path.is_file():
        raise TemplateMissing(N_("The agreement template %(kind)s %(version)s is not available in %(language)s."),
                              kind=kind, version=version, language=language)
    return path.read_text(encoding="utf-8")


def load_labels(language: str) -> dict[str, str]:
    """Shared wording used inside agreements (status names, schedule headers…), unfilled: `{n}` etc. are
    filled by the caller."""
    path = ROOT / "_labels" / f"{language}.txt"
    if not path.is_file():
        raise TemplateMissing(N_("The agreement template %(kind)s %(version)s is not available in %(language)s."),
                              kind="labels", version="-", language=language)
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("@label "):
            key, _, text = line[7:].partition(" ")
            labels[key] = text
    return labels


def template_labels(kind: str, version: str, language: str) -> dict[str, str]:
    """The `@label` lines of one template, unfilled. A template may restate a shared label in its own words (an
    introduction agreement names the introducer where the collaboration agreement names the partner): its
    wording wins for that template only, so earlier versions render exactly as they were signed."""
    labels = {}
    for line in load(kind, version, language).splitlines():
        if line.startswith("@label "):
            key, _, text = line[7:].partition(" ")
            labels[key] = text
    return labels


def languages_for(kind: str, version: str) -> list[str]:
    return available(kind).get(version, [])


class _Strict(dict):
    def __missing__(self, key):
        raise KeyError(f"template placeholder {{{key}}} has no value")


def fill(text: str, context: dict) -> str:
    return text.format_map(_Strict(context))


@dataclass
class ParsedText:
    title: str
    subtitle: str
    labels: dict[str, str]
    sections: list[Section]


def parse_text(raw: str, context: dict, *, lists: dict[str, list[str]] | None = None,
               keep_label=lambda key: True) -> ParsedText:
    """A template's text laid out: `@title`, `@subtitle`, `@label key text` (those `keep_label` keeps), `# section`,
    `@schedule`, `@list name [text when empty]` (the items of `lists[name]` as bullets), `- bullet`, paragraphs;
    every `{placeholder}` filled from `context`."""
    title = subtitle = ""
    labels: dict[str, str] = {}
    sections: list[Section] = []
    paragraph: list[str] = []

    def flush():
        if paragraph and sections:
            sections[-1].blocks.append(("p", fill(" ".join(paragraph), context)))
        paragraph.clear()

    for line in raw.splitlines():
        stripped = line.strip()
        if stripped.startswith("@title "):
            title = fill(stripped[7:], context)
        elif stripped.startswith("@subtitle "):
            subtitle = fill(stripped[10:], context)
        elif stripped.startswith("@label "):
            key, _, text = stripped[7:].partition(" ")
            if keep_label(key):
                labels[key] = fill(text, context)
        elif stripped.startswith("# "):
            flush()
            sections.append(Section(fill(stripped[2:], context)))
        elif stripped == "@schedule":
            flush()
            sections[-1].schedule = True
        elif stripped.startswith("@list "):
            flush()
            name, _, empty = stripped[6:].partition(" ")
            items = (lists or {})[name]
            sections[-1].blocks.extend(("bullet", item) for item in items)
            if not items and empty:
                sections[-1].blocks.append(("p", fill(empty, context)))
        elif stripped.startswith("- "):
            flush()
            sections[-1].blocks.append(("bullet", fill(stripped[2:], context)))
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
    flush()
    return ParsedText(title, subtitle, labels, sections)


def parse(kind: str, version: str, language: str, context: dict, *, party_rows, schedule_rows, signatories,
          reference: str) -> RenderedTemplate:
    parsed = parse_text(load(kind, version, language), context)
    title, subtitle, labels, sections = parsed.title, parsed.subtitle, parsed.labels, parsed.sections
    return RenderedTemplate(kind=kind, version=version, language=language, title=title, subtitle=subtitle,
                            reference=reference, labels=labels, party_rows=party_rows, sections=sections,
                            schedule_rows=schedule_rows, signatories=signatories)
