"""One guard for every request: text no database can store never reaches a view.

PostgreSQL refuses NUL bytes in text, and neither database driver can encode a lone UTF-16 surrogate (JSON
may carry one as `"\\ud800"`); both used to surface as server errors deep inside whichever query met them
first. The guard looks at every form field, query argument, URL argument and JSON string (keys included)
before the view runs. JSON is parsed once, by the app's JSON provider, which also refuses deep nesting.
"""
from __future__ import annotations

import re

from flask import Flask, abort, render_template, request
from flask.json.provider import DefaultJSONProvider

from core.errors import DomainError
from core.i18n import N_

from .errors import wants_json
from .i18n import tr

#: deeper than any body the API documents (a case is three levels deep), shallow enough to walk cheaply
MAX_JSON_DEPTH = 32
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FIELD_MESSAGE = N_("This contains characters that cannot be stored (a NUL byte or an unpaired surrogate).")
PAGE_MESSAGE = N_("What you sent contains characters that cannot be stored (a NUL byte or an unpaired "
                  "surrogate). Please remove them and try again.")


class UnstorableText(DomainError):
    code = "validation_error"


class GuardedJSONProvider(DefaultJSONProvider):
    """JSON that is too deep is not JSON we accept: a ValueError, which `get_json(silent=True)` turns into None
    (a 400 on the API) instead of a RecursionError escaping as a 500."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if _depth(value) > MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deeply")
        return value


def _children(value):
    if isinstance(value, dict):
        return value.values()
    if isinstance(value, list):
        return value
    return ()


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def _json_paths(value, prefix: str = ""):
    """The dotted paths (as the API names fields) of every JSON string, or key, that cannot be stored."""
    stack = [(value, prefix)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if UNSTORABLE.search(node):
                yield path or "body"
        elif isinstance(node, dict):
            for key, child in node.items():
                name = f"{path}.{key}" if path else str(key)
                if UNSTORABLE.search(key):
                    yield path or "body"
                else:
                    stack.append((child, name))
        elif isinstance(node, list):
            stack.extend((child, f"{path}.{i}" if path else str(i)) for i, child in enumerate(node))


def _multidict_paths(values) -> set[str]:
    bad = set()
    for key, value in values.items(multi=True):
        key = key or ""  # a multipart part without a usable name has None
        if UNSTORABLE.search(key) or UNSTORABLE.search(value):
            bad.add("body" if UNSTORABLE.search(key) or not key else key)
    return bad


def guard_request():
    if any(UNSTORABLE.search(str(v)) for v in (request.view_args or {}).values()):
        abort(404)  # URL arguments are ids and file names: one that cannot be stored names nothing
    bad = _multidict_paths(request.args) | _multidict_paths(request.form)
    if request.is_json and request.content_length:
        bad.update(_json_paths(request.get_json(silent=True)))
    if not bad:
        return None
    if wants_json():
        raise UnstorableText(N_("Some fields are not valid."), fields={name: [FIELD_MESSAGE] for name in sorted(bad)})
    return render_template("error.html", status=400, message=tr(PAGE_MESSAGE)), 400


def init_app(app: Flask) -> None:
    app.json = GuardedJSONProvider(app)
    app.before_request(guard_request)
