"""Where a request's unit of work ends: the one place the portal commits, or rolls back and says why.

Domain operations take the session, the acting user and values; they flush and never commit. The edge commits
once: a web view through `unit_of_work`, an API handler through `api_unit_of_work`, a command through
`command_unit_of_work`. A view then reads:

    if form.validate_on_submit():
        with unit_of_work(form) as work:
            org = ops.create_organisation(db.session, current_user, ip, **form.values())
        if work.ok:
            return done(_("Partner firm %(name)s created.", name=org.legal_name), url_for(...))
    return render_template(...), 422

and an action that returns to the page it was posted from:

    with unit_of_work(success=_("You are working this case.")):
        pipeline.claim(db.session, current_user, case)
    return redirect(url_for("cases.view", public_id=case.public_id))

Any exception other than a DomainError propagates untouched: the error handlers (portal.errors) roll back.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask import flash, redirect

from core.errors import DomainError

from .errors import domain_error_response
from .extensions import db
from .forms import apply_domain_errors
from .i18n import tr

#: given a refusal: shows it (`show`), or writes what must stay of it once it is rolled back (`keep`)
OnRefusal = Callable[[DomainError], None]


def _roll_back(exc: DomainError, keep: OnRefusal | None) -> None:
    """Nothing of a refused operation stays, except what `keep` writes about the refusal (committed alone)."""
    db.session.rollback()
    if keep is not None:
        keep(exc)
        db.session.commit()


class unit_of_work:
    """Run what the `with` block does as the request's unit of work.

    The block ending normally commits: `ok` is True, and `success` (a message) is flashed. A DomainError (a
    business rule refused) rolls all of it back and is shown to the person: by `show` when given, else on `form`
    (its fields' messages, the rest at the form's top), else flashed as an error. It goes no further: `error`
    holds it, and the view carries on to re-render its form or redirect. `keep` writes what must stay of a
    refusal (see `_roll_back`)."""

    def __init__(self, form=None, *, success: str | None = None, show: OnRefusal | None = None,
                 keep: OnRefusal | None = None):
        self.form, self.success, self.show, self.keep = form, success, show, keep
        self.ok = False
        self.error: DomainError | None = None

    def __enter__(self) -> unit_of_work:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            db.session.commit()
            self.ok = True
            if self.success:
                flash(self.success, "success")
            return False
        if not issubclass(exc_type, DomainError):
            return False
        self.error = exc
        _roll_back(exc, self.keep)
        if self.show is not None:
            self.show(exc)
        elif self.form is not None:
            apply_domain_errors(self.form, exc)
        else:
            flash(tr(exc.message, **exc.params), "error")
        return True


def done(message: str, url: str, category: str = "success"):
    """How a view ends once its work is saved: say so, and redirect (post/redirect/get)."""
    flash(message, category)
    return redirect(url)


def api_unit_of_work(view: Callable | None = None, *, keep: OnRefusal | None = None):
    """For an API handler that writes (put it under the route's declarations): its unit of work is committed
    once the handler has its answer; a DomainError rolls it back and is answered with the API's error body
    (DESIGN.md §6), as the error handler answers one raised anywhere else. `keep` as in `unit_of_work`."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def handle(*args, **kwargs):
            try:
                response = handler(*args, **kwargs)
            except DomainError as exc:
                _roll_back(exc, keep)
                return domain_error_response(exc)
            db.session.commit()
            return response

        return handle

    return decorate(view) if view is not None else decorate


@contextmanager
def command_unit_of_work() -> Iterator[None]:
    """A command is its own unit of work: committed when the block ends; a DomainError rolls it back and stops
    the command with its message (exit status 1)."""
    try:
        yield
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
