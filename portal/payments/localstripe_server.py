"""Run localstripe (a fake, stateful Stripe server: a development dependency) on loopback, keeping nothing on
disk: `python -m portal.payments.localstripe_server PORT [--webhook URL SECRET]`. The tests start it per run,
`make run` beside the portal so the demo pays offline (with the portal's webhook registered, signed with
SECRET). Its Stripe.js is served at http://127.0.0.1:PORT/js.stripe.com/v3/."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="localstripe_server")
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook", nargs=2, metavar=("URL", "SECRET"),
                        help="post Stripe's events to URL, signed with SECRET")
    args = parser.parse_args(argv)

    from aiohttp import web

    import localstripe.resources as resources

    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    from localstripe.server import app
    from localstripe.webhooks import register_webhook

    if args.webhook:
        register_webhook("portal", args.webhook[0], args.webhook[1], None)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
