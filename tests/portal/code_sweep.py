"""Reads pages as a person does (visible text only) and finds the codes in them: snake_case values
(`within_3_months`, `needs_analysis`), dotted action codes (`case.moved`, `auth.login`) and ledger account codes
(`partner_payable:held:<uuid>`); and dates written in digits only ("12/7/26", "2026-12-07"). Used by tests/portal/test_words.py to walk every role's pages."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

#: snake_case: two or more lowercase words joined by "_" (`within_3_months`, `quote_requested`)
SNAKE = re.compile(r"(?<![\w@./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])")
#: dotted codes: `case.moved`, `auth.login_failed` (not e-mail addresses, host names or file names)
DOTTED = re.compile(r"(?<![\w@./-])[a-z][a-z_]*\.[a-z][a-z_]+(?![\w@./-])")
#: ledger account codes: `partner_payable:held:…`, `receivable:insurer:…`
ACCOUNT = re.compile(r"\b[a-z_]+:[a-z_]+:[0-9a-f-]{6,}")
FILE_SUFFIXES = (".pdf", ".csv", ".xml", ".eml", ".txt", ".json", ".png", ".html", ".example", ".org", ".com",
                 ".net", ".py")
SKIPPED_TAGS = {"script", "style", "textarea", "template"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._skipping: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        # `translate="no"` marks an identifier meant to stay as it is (a CSV column of a file format)
        if tag in SKIPPED_TAGS or dict(attrs).get("translate") == "no" or self._skipping.get(tag):
            self._skipping[tag] = self._skipping.get(tag, 0) + 1
            self._skip += 1
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href:
                self.links.append(href)

    def handle_endtag(self, tag):
        if self._skipping.get(tag):
            self._skipping[tag] -= 1
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> tuple[str, list[str]]:
    """(the text a reader sees, the page's link targets); attribute values, scripts and text marked
    `translate="no"` left out."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split()), parser.links


#: a date a reader could misread or that is not in their language: "12/7/26", "07.12.2026", "2026-12-07"
NUMERIC_DATE = re.compile(r"(?<![\w/.-])(?:\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}-\d{2}-\d{2})(?![\w/.-])")


def dates_in(text: str) -> set[str]:
    return set(NUMERIC_DATE.findall(text))


def codes_in(text: str) -> set[str]:
    found = set(ACCOUNT.findall(text)) | set(SNAKE.findall(text))
    found |= {m for m in DOTTED.findall(text) if not m.endswith(FILE_SUFFIXES)}
    return found


#: pages a walk does not follow: files, the API, actions reached by GET that end the session
SKIPPED_PATHS = re.compile(r"^/(?:api/|static/|logout|healthz)|\.(?:csv|pdf|xml|eml|json|zip)$|/download|/export"
                           r"|/file|/csv|/pain|/certificate|/document")


def internal_links(links: list[str]) -> list[str]:
    out = []
    for href in links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIPPED_PATHS.search(parts.path):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out
