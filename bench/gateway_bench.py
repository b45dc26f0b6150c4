"""Benchmark the metered API against a bare Django JSON view on the same server.

Starts gunicorn on 127.0.0.1 against PostgreSQL (and Redis) with persistent
connections, drives both endpoints with wrk, and prints requests/s, p50/p99
latency, CPU time per request of the workers, PostgreSQL and Redis, database
transactions per call and the ratio metered/bare. Afterwards it checks the
money: every group's stored balance must equal its ledger sum, and the usage
events must match the metered calls the server answered 200 (counted from its
access log). If not, it prints no figures.

    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_gateway \\
    REDIS_URL=redis://127.0.0.1:6379/2 \\
    .venv/bin/python bench/gateway_bench.py [--port 8002] [--seconds 10]
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METERED_PATH = "/v1/chat/completions"
BARE_PATH = "/v1/bench/bare"
FLOOR_PATH = "/v1/bench/floor"
BODY = {"model": "sonar", "messages": [{"role": "user", "content": "Hello there"}]}
COST_MICROS = 3 + 64 + 5_000  # BODY's price by the local backend's rule
BENCH_GROUPS = 32

# Production-like settings for the server: DEBUG off (no query log), quiet logs.
SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "LOG_LEVEL": "WARNING",
    "PORTAL_BENCH_VIEWS": "1",
}

WRK_SCRIPT = """
local keys = {%(keys)s}
local counter = 0
wrk.method = "POST"
wrk.body = '%(body)s'
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local key = keys[(counter %% #keys) + 1]
  wrk.headers["Authorization"] = "Bearer " .. key
  return wrk.format(nil, wrk.path)
end
"""


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def _prepare(database_url: str) -> list[str]:
    """Migrate and make BENCH_GROUPS funded groups with one key each."""
    from django.core.management import call_command

    from apikeys.services import issue_key
    from billing.ledger import ensure_account, post_entry
    from billing.models import LedgerKind
    from groups.models import ApiGroup
    from limits.services import set_model_limit
    from portal.money import to_micros

    call_command("migrate", verbosity=0)
    stamp = int(time.time())
    secrets = []
    for n in range(BENCH_GROUPS):
        group = ApiGroup.objects.create(
            name=f"Bench {stamp}-{n}", slug=f"bench-{stamp}-{n}"
        )
        ensure_account(group.pk)
        post_entry(group.pk, LedgerKind.GRANT, to_micros("1000"), actor_label="bench")
        # The rate limiter runs on every call, as in production, but must not
        # refuse: the benchmark measures throughput, not the tier's limit.
        set_model_limit(group, "sonar", 10_000_000)
        secrets.append(issue_key(group, None, "bench", actor_label="bench").secret)
    return secrets


def _transactions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def _start_server(args, access_log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        **SERVER_ENV,
        "DATABASE_CONN_HEALTH_CHECKS": "true" if args.health_checks else "false",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "portal.wsgi",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(args.threads),
        "--keep-alive",
        "30",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(U)s %(s)s",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{args.port}/healthz"
            with urllib.request.urlopen(url, timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def _cpu_seconds(wanted) -> float:
    """User + system CPU, in seconds, of the processes `wanted(comm, ppid)` picks."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if wanted(comm.partition("(")[2], int(fields[1])):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _cpu_by_part(master_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server's workers, of PostgreSQL and of Redis."""
    return {
        "workers": _cpu_seconds(lambda comm, ppid: ppid == master_pid),
        "postgres": _cpu_seconds(lambda comm, ppid: comm == "postgres"),
        "redis": _cpu_seconds(lambda comm, ppid: comm.startswith("redis-server")),
    }


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def _run_wrk(url: str, script: Path, seconds: int, connections: int) -> dict:
    output = subprocess.run(
        [
            "wrk",
            "--threads",
            str(min(2, connections)),
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--latency",
            "--script",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _seconds(re.search(r"\s50%\s+(\S+)", output).group(1)),
        "p99": _seconds(re.search(r"\s99%\s+(\S+)", output).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _measure(args, server, url, script, access_log: Path, path: str) -> dict:
    _run_wrk(url, script, max(2, args.seconds // 4), args.connections)  # warm up
    time.sleep(0.5)
    answered_before = _count_answered(access_log, path)
    cpu_before = _cpu_by_part(server.pid)
    result = _run_wrk(url, script, args.seconds, args.connections)
    time.sleep(0.5)  # let requests wrk abandoned at the deadline finish
    cpu_after = _cpu_by_part(server.pid)
    for part, seconds in cpu_after.items():
        result[part] = (seconds - cpu_before[part]) / max(result["requests"], 1)
    result["answered"] = _count_answered(access_log, path) - answered_before
    return result


def _count_answered(access_log: Path, path: str, status: str = "200") -> int:
    if not access_log.exists():
        return 0
    wanted = f"{path} {status}"
    with access_log.open() as lines:
        return sum(1 for line in lines if line.strip() == wanted)


def _check_money(started_at, metered_answered: int) -> list[str]:
    """Return the disagreements between balances, ledger and usage events."""
    from django.db.models import Sum

    from billing.models import BillingAccount, LedgerEntry
    from usage.models import UsageEvent

    problems = []
    sums = dict(
        LedgerEntry.objects.values_list("group_id")
        .annotate(total=Sum("amount_micros"))
        .values_list("group_id", "total")
    )
    for group_id, balance in BillingAccount.objects.values_list(
        "group_id", "balance_micros"
    ):
        if balance != sums.get(group_id, 0):
            problems.append(
                f"group {group_id}: balance {balance} != ledger {sums.get(group_id, 0)}"
            )
    events = UsageEvent.objects.filter(created_at__gte=started_at)
    count = events.count()
    if count != metered_answered:
        problems.append(f"{count} usage events for {metered_answered} calls answered")
    charged = events.aggregate(total=Sum("cost_micros"))["total"] or 0
    if charged != COST_MICROS * count:
        problems.append(f"charged {charged} micros, expected {COST_MICROS * count}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--health-checks",
        action="store_true",
        help="keep Django's per-request connection check (one more round trip)",
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database.", file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2

    _setup_django()
    from django.db import connections
    from django.utils import timezone

    secrets = _prepare(database_url)
    workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    script = workdir / "calls.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "keys": ", ".join(f'"{s}"' for s in secrets),
            "body": json.dumps(BODY),
        }
    )
    access_log = workdir / "access.log"
    started_at = timezone.now()
    base = f"http://127.0.0.1:{args.port}"
    server = _start_server(args, access_log)
    try:
        transactions_before = _transactions()
        connections.close_all()
        bare = _measure(args, server, base + BARE_PATH, script, access_log, BARE_PATH)
        metered = _measure(
            args, server, base + METERED_PATH, script, access_log, METERED_PATH
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    time.sleep(1.5)  # the server's sessions report their statistics as they end
    # Every metered call answered 200, plus the warm-up's; the bench's own reads
    # (two) are subtracted.
    all_metered = _count_answered(access_log, METERED_PATH)
    transactions = _transactions() - transactions_before - 1

    # Measured apart, so that the transactions above are the metered calls' alone.
    server = _start_server(args, access_log)
    try:
        floor = _measure(
            args, server, base + FLOOR_PATH, script, access_log, FLOOR_PATH
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    runs = {"bare": bare, "metered": metered, "floor": floor}
    problems = _check_money(started_at, all_metered)
    failed = {name: r["non_2xx"] for name, r in runs.items() if r["non_2xx"]}
    if failed:
        problems.append(f"non-2xx responses: {failed}")
    if problems:
        print("Ledger check FAILED; no figures printed:", *problems, sep="\n  ")
        return 1

    ratio = metered["rps"] / bare["rps"]
    print(
        f"gunicorn gthread, {args.workers} workers x {args.threads} threads, "
        f"connection health checks {'on' if args.health_checks else 'off'}, "
        f"wrk {args.connections} "
        f"connections, {args.seconds}s per endpoint, {os.cpu_count()} CPUs"
    )
    print(f"{'':<24}{'CPU us per request':^30}")
    print(
        f"{'':<10}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'workers':>10}{'postgres':>10}{'redis':>10}"
    )
    for name, result in runs.items():
        print(
            f"{name:<10}{result['rps']:>7.0f}{result['p50'] * 1e3:>8.2f}"
            f"{result['p99'] * 1e3:>8.2f}{result['workers'] * 1e6:>10.0f}"
            f"{result['postgres'] * 1e6:>10.0f}{result['redis'] * 1e6:>10.0f}"
        )
    print(f"ratio metered/bare: {ratio:.2f} (target >= 0.60)")
    print(
        f"ratio floor/bare: {floor['rps'] / bare['rps']:.2f} (the most any call "
        "recorded before it answers can reach: key, rate limit, one committed write)"
    )
    print(
        f"database transactions per metered call: {transactions / all_metered:.2f} "
        f"({transactions} for {all_metered} calls; target <= 2)"
    )
    print(
        f"ledger check: {all_metered} usage events, every balance equals its ledger sum"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
