"""Ledger benchmarks, on PostgreSQL and, for reference, SQLite: `python -m bench.ledger` (throughput) measures
posting throughput and read latency of the commission ledger (`ledger.engine`); `python -m bench.ledger keys`
measures a contract's and a firm's operations at two ledger sizes (bench/ledger/keys.py).

The throughput benchmark, for each backend, in this process:

  * builds a throwaway database (PostgreSQL: a scratch database on the local server, dropped at the end;
    SQLite: a file in a temporary directory) with the real Alembic migrations, so the append-only triggers and
    PostgreSQL's per-entry balance check are there; opens the chart of accounts with `engine.open_account`:
    12 insurers' receivables, commission income, partner commission expense, bank, payouts approved, and the
    held and available payables of 210 partner firms;
  * loads two years of history, --postings postings (1,000,000 by default), with bulk SQL (COPY on PostgreSQL,
    executemany on SQLite) in the shape the engine writes: placements (4 postings), disclosure releases (2),
    insurers' monthly receipts and monthly partner payouts, with each posting's running balance; then VACUUM
    ANALYZE (PostgreSQL) or ANALYZE (SQLite), and `engine.verify` of the whole ledger;
  * measures, against the targets of the ledger issue:
      (3) the current balance of a random account (`engine.account(...).balance_minor`), p99 < 1 ms;
      (4) a random account's balance as of a random past date (`engine.balance_as_of`), p99 < 2 ms;
      (5) a 50-line statement page with running balances (`engine.statement(..., limit=50)`), p99 < 5 ms;
      (6) this month's payout run for the 210 partners (valid German IBANs): `payouts.prepare` + `approve`,
          including the pain.001 file validated against its schema, and the commit: < 5 s;
      (1) single idempotent entries (a placement: 4 postings) with `engine.post`, each committed on its own,
          one after the other on one connection: >= 1,500 entries/s with p99 <= 2 ms;
      (2) set-based batch posting with `engine.post_batch`: >= 20,000 postings/s, by one writer and by 4
          writers at once whose every entry debits the same hot account (the biggest insurer's receivable);
          for information, the same 4 writers with `engine.post` one entry at a time;
  * says where the time of (1) and (2) goes (statements sent, time inside the driver, in the garbage collector,
    in Python), measures this machine's floor (a round trip; a one-row INSERT and its commit), runs
    `engine.verify` again over everything written, and prints one "figure  target  PASS/MISS" line per target.

Without a reachable PostgreSQL server either runs SQLite only and says PostgreSQL was skipped.

These are benchmarks, not tests: they exit 0 whatever the figures, and non-zero only when something went wrong
(setup failed, an operation raised, `engine.verify` found a problem).

    .venv/bin/python -m bench.ledger [throughput] [--backend both|sqlite|postgresql] [--postings 1000000]
                                     [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--json PATH]
    .venv/bin/python -m bench.ledger keys [--backend ...] [--sizes 1000,100000] [--runs 200] [--warmup 20]
"""
