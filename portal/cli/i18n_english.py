"""Keep the English catalog complete: English is the source language, so each translation is its msgid."""
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PATH = Path(__file__).resolve().parents[1] / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    with PATH.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with PATH.open("wb") as fh:
        write_po(fh, catalog, width=100)


if __name__ == "__main__":
    main()
