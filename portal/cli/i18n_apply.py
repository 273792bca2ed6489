"""Fill the catalogs from a JSON file of translations: {"msgid": {"fr": "...", "it": "...", ...}}.

Run after `make i18n-update` has added the new msgids: `python -m portal.cli.i18n_apply FILE [FILE...]`.
Work done on several branches at once keeps its new translations in such a file, so merging branches never
means merging .po files by hand. A plural entry's value per language is a list of forms.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1] / "translations"


def apply(translations: dict[str, dict[str, str | list[str]]]) -> list[str]:
    """Writes the translations into each language's catalog; returns the msgids no catalog knows."""
    unknown = set(translations)
    for po in sorted(ROOT.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parts[-3]
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for message in catalog:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            if key in translations and lang in translations[key]:
                value = translations[key][lang]
                message.string = tuple(value) if isinstance(message.id, tuple) else value
                message.flags.discard("fuzzy")
                unknown.discard(key)
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100)
    return sorted(unknown)


def main(argv: list[str]) -> int:
    merged: dict[str, dict] = {}
    for name in argv:
        for msgid, langs in json.loads(Path(name).read_text(encoding="utf-8")).items():
            merged.setdefault(msgid, {}).update(langs)
    unknown = apply(merged)
    for msgid in unknown:
        print(f"not in any catalog (run make i18n-update first?): {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
