"""Web throughput benchmark: the signed-in role home page against the bare route of the same app.

One run builds a throwaway instance (temporary directory, SQLite database, demo data), serves it with
gunicorn on 127.0.0.1, signs in over HTTP as a partner admin and as an admin, and measures requests per
second and latency for:

  * GET /healthz  -- the bare route (one `SELECT 1`), the ceiling for this app, server and machine;
  * GET /         -- the role home page of the partner admin (specialist@demo.example);
  * GET /         -- the role home page of the admin (admin@demo.example).

Target: each role home page reaches at least 50% of the bare route's throughput. The script reports
PASS/MISS against that target; it is a benchmark, not a test, so it exits 0 whatever the figures and
non-zero only when something went wrong (setup failed, a request answered anything but 200, ...).

Only the standard library is used on the client side, and only 127.0.0.1 is ever contacted.

    .venv/bin/python -m bench.web [--seconds 5] [--warmup 2] [--clients 4] [--rounds 5] [--json PATH] [--quick]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import os
from contextlib import suppress
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.common import (
    BIN,
    ROOT,
    BenchError,
    apply_quick,
    percentile,
    quick_option,
    run,
    verdict as pass_or_miss,
    write_json,
)

HOST = "127.0.0.1"  # the only address this script ever contacts
USER_AGENT = "portal-bench/1"  # constant: Flask-Login "strong" session protection hashes address + agent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "demo-password"
TARGET_RATIO = 0.5
TARGET_TEXT = "target: role home page \u2265 50% of the bare route's throughput"

# Server settings: identical for every measurement.
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 1
GUNICORN_WORKER_CLASS = "sync"

# (key, label, path, login e-mail or None, full name shown on the signed-in page)
ROUTES = [
    ("bare", "GET /healthz (bare route)", "/healthz", None, None),
    ("partner_admin", "GET / partner admin (specialist@demo.example)", "/", "specialist@demo.example",
     "Sophie Lumen"),
    ("admin", "GET / admin (admin@demo.example)", "/", "admin@demo.example", "Alex Admin"),
]


# --------------------------------------------------------------------------- throwaway instance and server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def instance_env(tmp: Path) -> dict:
    env = dict(os.environ)
    # Settings from the caller's shell that could point the app at another host or change its behaviour.
    for name in ("SERVER_NAME", "SMTP_HOST", "SESSION_COOKIE_SECURE", "DEMO_PASSWORD", "FLASK_APP"):
        env.pop(name, None)
    env.update({
        "PORTAL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",  # absolute path: sqlite:////tmp/...
        "SECRET_KEY": "bench-secret",
        "MAIL_TRANSPORT": "file",
        "MAIL_FILE_DIR": str(tmp / "mail"),
        "LOGIN_LIMIT_PER_ADDRESS": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",  # never a remote limiter store
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def run_cli(args: list[str], env: dict, timeout: float = 120) -> None:
    cmd = [str(BIN / "flask"), "--app", "wsgi", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")


def start_gunicorn(port: int, env: dict, log_path: Path) -> subprocess.Popen:
    cmd = [str(BIN / "gunicorn"), "-w", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS),
           "-k", GUNICORN_WORKER_CLASS, "-b", f"{HOST}:{port}", "--log-level", "warning", "wsgi:app"]
    with open(log_path, "wb") as log:
        # Own session/process group, so the SIGKILL fallback can reach the workers too.
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left in the group we started
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited with {proc.returncode}:\n{tail(log_path)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/healthz", headers={"User-Agent": USER_AGENT})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                return
            last = f"HTTP {resp.status}"
        except OSError as exc:
            last = repr(exc)
        finally:
            conn.close()
        time.sleep(0.1)
    raise BenchError(f"GET /healthz did not answer 200 within {timeout:.0f}s ({last}):\n{tail(log_path)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


# --------------------------------------------------------------------------- signing in over HTTP


class Client:
    """One keep-alive connection to 127.0.0.1 with a minimal cookie jar."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=15)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, dict, str]:
        headers = {"User-Agent": USER_AGENT, "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        for raw in resp.msg.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return resp.status, dict(resp.getheaders()), text

    def close(self) -> None:
        self.conn.close()


def sign_in(port: int, email: str, full_name: str) -> str:
    """Sign in as `email`; return the Cookie header value that carries the session."""
    client = Client(port)
    try:
        status, _, page = client.request("GET", "/login")
        if status != 200:
            raise BenchError(f"GET /login answered {status}")
        match = CSRF_RE.search(page)
        if not match:
            raise BenchError("no csrf_token on the sign-in page")
        form = urlencode({"email": email, "password": PASSWORD, "csrf_token": match.group(1)})
        status, headers, _ = client.request("POST", "/login", body=form)
        if status != 302:
            raise BenchError(f"signing in as {email} answered {status} instead of a 302 redirect")
        status, headers, page = client.request("GET", "/")
        if status != 200 or full_name not in page:
            raise BenchError(f"after signing in as {email}, GET / answered {status} "
                             f"{headers.get('Location', '')} without the user's name")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    finally:
        client.close()


# --------------------------------------------------------------------------- load


def load(port: int, path: str, cookie: str | None, clients: int, seconds: float, max_requests: int) -> dict:
    """`clients` threads, each with its own connection, GET `path` until `seconds` pass or the cap is hit."""
    stop = threading.Event()
    errors: list[str] = []
    latencies: list[list[float]] = [[] for _ in range(clients)]
    per_thread_cap = max(1, max_requests // clients)
    headers = {"User-Agent": USER_AGENT, "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    start_barrier = threading.Barrier(clients + 1)
    remaining = [clients]
    remaining_lock = threading.Lock()

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=15)
        mine = latencies[i]
        try:
            start_barrier.wait()
            while not stop.is_set() and len(mine) < per_thread_cap:
                t0 = time.perf_counter()
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                dt = time.perf_counter() - t0
                if resp.status != 200:
                    where = resp.getheader("Location", "")
                    raise BenchError(f"GET {path} answered {resp.status} {where}".rstrip())
                mine.append(dt)
        except BenchError as exc:
            errors.append(str(exc))
            stop.set()
        except Exception as exc:  # noqa: BLE001 -- reported and re-raised by the caller
            errors.append(f"GET {path}: {type(exc).__name__}: {exc}")
            stop.set()
        finally:
            conn.close()
            with remaining_lock:
                remaining[0] -= 1
                if remaining[0] == 0:  # every client hit its cap: end the phase now, not at the deadline
                    stop.set()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start_barrier.wait()
    started = time.perf_counter()
    stop.wait(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    for t in threads:
        t.join(timeout=30)
    if any(t.is_alive() for t in threads):
        errors.append("a client thread did not finish within 30 s of the end of the phase")
    if errors:
        raise BenchError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    return {
        "latencies": [x for lst in latencies for x in lst],
        "elapsed": elapsed,
        "capped": any(len(lst) >= per_thread_cap for lst in latencies),
    }


def summarise(path: str, slices: list[dict]) -> dict:
    """Merge the timed slices of one route: throughput over their total time, latency over all requests."""
    all_lat = sorted(x for sl in slices for x in sl["latencies"])
    elapsed = sum(sl["elapsed"] for sl in slices)
    if not all_lat:
        raise BenchError(f"GET {path}: no request completed")
    return {
        "requests": len(all_lat),
        "elapsed_s": round(elapsed, 3),
        "rps": len(all_lat) / elapsed,
        "p50_ms": percentile(all_lat, 50) * 1000,
        "p95_ms": percentile(all_lat, 95) * 1000,
        "capped": any(sl["capped"] for sl in slices),
    }


# --------------------------------------------------------------------------- report


def report(results: dict, args) -> dict:
    bare = results["bare"]["rps"]
    rows = []
    for key, label, path, email, _ in ROUTES:
        r = results[key]
        row = {"key": key, "route": label, "path": path, "login": email, **r}
        if email is not None:
            row["ratio_to_bare"] = r["rps"] / bare if bare else 0.0
            row["target_ratio"] = TARGET_RATIO
            row["verdict"] = pass_or_miss(row["ratio_to_bare"] >= TARGET_RATIO)
        rows.append(row)

    width = max(len(r["route"]) for r in rows)
    print()
    print(f"{'route':<{width}}  {'req/s':>8}  {'p50 ms':>7}  {'p95 ms':>7}  {'requests':>8}  {'home/bare':>9}  verdict")
    print("-" * (width + 60))
    for r in rows:
        ratio = f"{r['ratio_to_bare'] * 100:8.1f}%" if "ratio_to_bare" in r else f"{'-':>9}"
        verdict = r.get("verdict", "")
        cap = " (hit --max-requests)" if r["capped"] else ""
        print(f"{r['route']:<{width}}  {r['rps']:8.1f}  {r['p50_ms']:7.2f}  {r['p95_ms']:7.2f}  "
              f"{r['requests']:8d}  {ratio}  {verdict}{cap}")
    print()
    print(TARGET_TEXT)
    for r in rows:
        if "verdict" in r:
            print(f"  {r['verdict']}: {r['route']} at {r['ratio_to_bare'] * 100:.1f}% of the bare route")
    print(f"\n(gunicorn -w {GUNICORN_WORKERS} --threads {GUNICORN_THREADS} -k {GUNICORN_WORKER_CLASS} on "
          f"{HOST}; {args.clients} client threads; {args.warmup:g} s warm-up, {args.seconds:g} s timed per route "
          f"in {args.rounds} interleaved slice(s); "
          f"{os.cpu_count()} CPUs; client and server share the machine)")

    return {
        "benchmark": "bench/web.py",
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"gunicorn": {"workers": GUNICORN_WORKERS, "threads": GUNICORN_THREADS,
                                  "worker_class": GUNICORN_WORKER_CLASS, "bind": HOST},
                     "client_threads": args.clients, "warmup_s": args.warmup, "seconds": args.seconds,
                     "rounds": args.rounds,
                     "max_requests": args.max_requests, "database": "sqlite (temporary file)"},
        "target": {"text": TARGET_TEXT, "min_ratio": TARGET_RATIO},
        "results": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    }


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="timed phase per route (default 5)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up per route, not counted (default 2)")
    p.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    p.add_argument("--rounds", type=int, default=5,
                   help="split each route's timed phase into this many slices, interleaved across routes (default 5)")
    p.add_argument("--max-requests", type=int, default=200_000,
                   help="upper bound on requests per phase, whatever the time (default 200000)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    quick_option(p, seconds=1.0, warmup=0.5, rounds=1)
    args = apply_quick(p, p.parse_args(argv))
    if not (0 < args.seconds <= 600 and 0 <= args.warmup <= 120 and 1 <= args.clients <= 64
            and 1 <= args.rounds <= 100 and args.max_requests >= 1):
        p.error("--seconds must be in (0, 600], --warmup in [0, 120], --clients in [1, 64], --rounds in [1, 100], "
                "--max-requests >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    for exe in ("flask", "gunicorn"):
        if not (BIN / exe).exists():
            raise BenchError(f"{BIN / exe} not found: run `make install` first")

    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    proc = None
    try:
        env = instance_env(tmp)
        print(f"instance: {tmp}", flush=True)
        run_cli(["db", "upgrade"], env)
        run_cli(["demo-data"], env)

        port = free_port()
        log_path = tmp / "gunicorn.log"
        proc = start_gunicorn(port, env, log_path)
        wait_healthy(port, proc, log_path)
        print(f"gunicorn: http://{HOST}:{port}/ (pid {proc.pid})", flush=True)

        cookies = {key: sign_in(port, email, name) for key, _, _, email, name in ROUTES if email}

        def run(key: str, path: str, seconds: float, cap: int) -> dict:
            try:
                return load(port, path, cookies.get(key), args.clients, seconds, cap)
            except BenchError:
                if proc.poll() is not None:
                    print(tail(log_path), file=sys.stderr)
                raise

        if args.warmup > 0:
            print(f"warming up: {args.warmup:g} s per route ...", flush=True)
            for key, _, path, _, _ in ROUTES:
                run(key, path, args.warmup, args.max_requests)
        # The timed phase is split into interleaved slices (bare, partner admin, admin, bare, ...) so that a
        # change in background load on the machine affects every route alike rather than whichever ran then.
        slice_s = args.seconds / args.rounds
        slice_cap = max(1, args.max_requests // args.rounds)
        print(f"measuring: {args.seconds:g} s per route in {args.rounds} interleaved slice(s) of {slice_s:g} s ...",
              flush=True)
        slices: dict[str, list[dict]] = {key: [] for key, *_ in ROUTES}
        for _ in range(args.rounds):
            for key, _, path, _, _ in ROUTES:
                slices[key].append(run(key, path, slice_s, slice_cap))
        results = {key: summarise(path, slices[key]) for key, _, path, _, _ in ROUTES}

        figures = report(results, args)
        if args.json:
            write_json(args.json, figures)
        return 0
    finally:
        if proc is not None:
            stop_gunicorn(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run(main, "bench.web")
