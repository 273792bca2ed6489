"""Run localstripe (a fake, stateful Stripe server: a development dependency) on loopback, keeping nothing on
disk: `python -m portal.payments.localstripe_server PORT`. The tests start it per run, `make run` beside the
portal so the demo pays offline. Its Stripe.js is served at http://127.0.0.1:PORT/js.stripe.com/v3/."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    from aiohttp import web

    import localstripe.resources as resources

    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    from localstripe.server import app

    host = argv[2] if len(argv) > 2 else "127.0.0.1"
    web.run_app(app, host=host, port=int(argv[1]), print=None)


if __name__ == "__main__":
    main(sys.argv)
