"""Entry point for gunicorn and `flask --app wsgi`."""
import gc

from portal import create_app

app = create_app()
# What is loaded now lives as long as the process: keep the cyclic garbage collector from rescanning it at
# every full collection (a full pass over the loaded app cost ~140 ms in bench/ledger.py).
gc.collect()
gc.freeze()
