"""Translation markers for code that must not import Flask.

`N_("text")` marks a msgid for extraction (see babel.cfg keywords) and returns it unchanged; the portal
translates it when it shows it, in the reader's language.
"""


def N_(message: str) -> str:
    return message
