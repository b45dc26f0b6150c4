"""Benchmark the usage page and CSV export against a plain count of raw events.

Not a test: it prints figures. On a dedicated PostgreSQL database, for example

    createdb portal_usage_bench
    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_usage_bench \\
        python bench/usage_bench.py --events 10000000

it migrates, generates usage events across groups, keys and models over the last
N days with INSERT ... SELECT generate_series, builds the three rollup levels in
bulk by the same sums the live debit makes, then times (through Django's test
client, middleware and all) the usage page and the CSV export for the busiest
group over several ranges, beside `SELECT count(*)` over that group's raw events.
Run it with `--reuse` to time again without regenerating.

Beside them it times a floor: the API keys page of the same group, for the same
logged-in member. It pays the usage page's fixed costs (session, middleware, the
group and membership helper, the base layout) and reads no usage, so it shows what
any page of the portal costs before its own work. The 100x target (the count's p50
/ 100) is printed next to it for comparison.
"""

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from usage.queries import usage_report  # noqa: E402
from usage.ranges import parse_usage_query  # noqa: E402

MODELS = ("sonar", "sonar-pro", "sonar-reasoning-pro", "sonar-deep-research")
BENCH_EMAIL = "bench@example.com"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--skew",
        type=float,
        default=2.0,
        help="group of an event is groups * random()^skew: higher, busier top group",
    )
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="time existing data")
    parser.add_argument(
        "--allow-any-database",
        action="store_true",
        help="run on a database whose name does not end in _bench",
    )
    args = parser.parse_args()
    if min(args.groups, args.keys, args.events, args.days, args.repeat) < 1:
        parser.error("sizes must be positive")
    if args.keys < args.groups:
        parser.error("--keys must be at least --groups (every group has a key)")
    return args


def check_database(args: argparse.Namespace) -> None:
    if not settings.DATABASE_IS_POSTGRES:
        sys.exit("usage_bench: needs PostgreSQL; set DATABASE_URL")
    name = settings.DATABASES["default"]["NAME"]
    if not name.endswith("_bench") and not args.allow_any_database:
        sys.exit(f"usage_bench: refusing to fill database {name!r}; use a *_bench one")


def execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def step(label: str):
    started = time.perf_counter()

    class Done:
        def __enter__(self):
            print(f"{label} ...", end="", flush=True)

        def __exit__(self, *exc):
            print(f" {time.perf_counter() - started:.1f} s", flush=True)

    return Done()


def generate(args: argparse.Namespace) -> None:
    if scalar("SELECT count(*) FROM usage_usageevent"):
        sys.exit("usage_bench: the database already has usage; pass --reuse")
    keys_per_group = args.keys // args.groups
    # Room to aggregate and build indexes in memory rather than on disk.
    execute("SET work_mem = '512MB'")
    execute("SET maintenance_work_mem = '1GB'")
    with step(f"{args.groups:,} groups and billing accounts"):
        execute(
            """
            INSERT INTO groups_apigroup (name, slug, description, address_line1,
                address_line2, city, region, postal_code, country, tax_id,
                created_at, updated_at)
            SELECT 'Bench group ' || g, 'bench-' || g, '', '', '', '', '', '', '',
                '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [args.groups],
        )
        execute(
            """
            INSERT INTO billing_billingaccount (group_id, balance_micros,
                lifetime_purchased_micros, stripe_customer_id, idempotency_token,
                updated_at)
            SELECT id, 0, 0, '', md5(random()::text), now() FROM groups_apigroup
            """
        )
    with step(f"{keys_per_group * args.groups:,} keys"):
        execute(
            """
            INSERT INTO apikeys_apikey (group_id, name, secret_hash, last_four,
                status, created_at)
            SELECT g.id, 'key ' || k, md5(g.id || ':' || k) || md5(k || ':' || g.id),
                upper(substr(md5(g.id || '/' || k), 1, 4)), 'active', now()
            FROM groups_apigroup g, generate_series(1, %s) AS k
            ORDER BY g.id, k
            """,
            [keys_per_group],
        )
    # Events pick a key by arithmetic on ids, so ids must be dense and in order.
    if scalar("SELECT max(id) - min(id) + 1 - count(*) FROM apikeys_apikey"):
        sys.exit("usage_bench: key ids are not contiguous; use a fresh database")
    first_group = scalar("SELECT min(id) FROM groups_apigroup")
    first_key = scalar("SELECT min(id) FROM apikeys_apikey")
    with without_secondary_indexes("usage_usageevent"):
        done = 0
        while done < args.events:
            size = min(args.batch, args.events - done)
            with step(f"events {done + size:,} of {args.events:,}"):
                insert_events(args, done, size, first_group, first_key, keys_per_group)
            done += size
    build_rollups()
    with step("vacuum analyze"):
        for table in (
            "usage_usageevent",
            "usage_usagerollup",
            "usage_modelhourrollup",
            "usage_keydayrollup",
            "apikeys_apikey",
        ):
            execute(f"VACUUM ANALYZE {table}")


@contextmanager
def without_secondary_indexes(*tables: str):
    """Drop indexes that back no constraint, load, then build them again in bulk."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            """,
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with step(f"rebuild {len(indexes)} indexes on {', '.join(tables)}"):
        for _, definition in indexes:
            execute(definition)


def insert_events(args, offset, size, first_group, first_key, keys_per_group):
    # One random draw each for group, key, model, time and tokens; costs follow
    # the default price book closely enough to look real, and satisfy the
    # constraint that the total is the sum of the parts.
    execute(
        """
        INSERT INTO usage_usageevent (group_id, api_key_id, model, request_id, status,
            streamed, search_context_size, input_tokens, output_tokens,
            citation_tokens, reasoning_tokens, search_queries, input_cost_micros,
            output_cost_micros, citation_cost_micros, reasoning_cost_micros,
            request_cost_micros, search_cost_micros, cost_micros, latency_ms,
            created_at)
        SELECT g, %(first_key)s + (g - %(first_group)s) * %(kpg)s + k, m,
            'bench-' || i, 'succeeded', false, 'medium', it, ot, 0, 0, sq,
            it * 3 / 1000, ot * 15 / 1000, 0, 0, 10000, sq * 5000,
            it * 3 / 1000 + ot * 15 / 1000 + 10000 + sq * 5000, 900, at
        FROM (
            SELECT i,
                %(first_group)s
                    + floor(%(groups)s * power(random(), %(skew)s))::int AS g,
                floor(random() * %(kpg)s)::int AS k,
                (ARRAY['sonar', 'sonar-pro', 'sonar-reasoning-pro',
                       'sonar-deep-research'])[1 + floor(random() * 4)::int] AS m,
                100 + floor(random() * 2000)::int AS it,
                50 + floor(random() * 1000)::int AS ot,
                floor(random() * 3)::int AS sq,
                now() - random() * make_interval(days => %(days)s) AS at
            FROM generate_series(%(start)s, %(stop)s) AS i
        ) AS draw
        """,
        {
            "first_key": first_key,
            "first_group": first_group,
            "kpg": keys_per_group,
            "groups": args.groups,
            "skew": args.skew,
            "days": args.days,
            "start": offset + 1,
            "stop": offset + size,
        },
    )


SUMS = """count(*), sum(input_tokens), sum(output_tokens), sum(citation_tokens),
    sum(reasoning_tokens), sum(search_queries), sum(cost_micros)"""
ROLLED_SUMS = """sum(requests), sum(input_tokens), sum(output_tokens),
    sum(citation_tokens), sum(reasoning_tokens), sum(search_queries),
    sum(cost_micros)"""
SUM_COLUMNS = """requests, input_tokens, output_tokens, citation_tokens,
    reasoning_tokens, search_queries, cost_micros"""


def build_rollups() -> None:
    """Sum events into the rollups exactly as each debit adds to them, in bulk."""
    execute("SET TIME ZONE 'UTC'")
    with without_secondary_indexes(
        "usage_usagerollup", "usage_modelhourrollup", "usage_keydayrollup"
    ):
        with step("hourly rollup per key and model"):
            execute(
                f"""
                INSERT INTO usage_usagerollup (group_id, api_key_id, model, hour,
                    {SUM_COLUMNS})
                SELECT group_id, api_key_id, model, date_trunc('hour', created_at),
                    {SUMS}
                FROM usage_usageevent GROUP BY 1, 2, 3, 4
                """
            )
        with step("hourly rollup per model"):
            execute(
                f"""
                INSERT INTO usage_modelhourrollup (group_id, model, hour,
                    {SUM_COLUMNS})
                SELECT group_id, model, hour, {ROLLED_SUMS}
                FROM usage_usagerollup GROUP BY 1, 2, 3
                """
            )
        with step("daily rollup per key and model"):
            execute(
                f"""
                INSERT INTO usage_keydayrollup (group_id, api_key_id, model, day,
                    {SUM_COLUMNS})
                SELECT group_id, api_key_id, model, (hour AT TIME ZONE 'UTC')::date,
                    {ROLLED_SUMS}
                FROM usage_usagerollup GROUP BY 1, 2, 3, 4
                """
            )


def bench_user_client(group_id: int) -> Client:
    from django.contrib.auth import get_user_model

    from groups.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"email": BENCH_EMAIL}
    )
    Membership.objects.get_or_create(
        group_id=group_id, user=user, defaults={"role": Role.MEMBER}
    )
    client = Client()
    client.force_login(user)
    return client


def timed(action, repeat: int) -> list[float]:
    for _ in range(2):  # warm caches and connections, as a running server would be
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def fetch(client: Client, url: str, streamed: bool) -> None:
    response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"usage_bench: {url} answered {response.status_code}")
    if streamed:
        for _ in response.streaming_content:
            pass
    else:
        assert response.content


def measure(args: argparse.Namespace) -> None:
    busiest, busiest_calls = busiest_group()
    slug = scalar("SELECT slug FROM groups_apigroup WHERE id = %s", [busiest])
    client = bench_user_client(busiest)
    total = scalar("SELECT count(*) FROM usage_usageevent")
    print()
    print(
        f"{total:,} events; busiest group {slug} (id {busiest}) made "
        f"{busiest_calls:,} calls"
    )

    def raw_count():
        return scalar(
            "SELECT count(*) FROM usage_usageevent WHERE group_id = %s", [busiest]
        )

    count_p50, count_p95 = p50_p95(timed(raw_count, max(5, args.repeat // 3)))
    print(
        f"SELECT count(*) over its raw events ({raw_count():,} rows): "
        f"p50 {count_p50:.1f} ms, p95 {count_p95:.1f} ms"
    )
    print()
    print(f"{'what':<28}{'p50 ms':>9}{'p95 ms':>9}{'count/p50':>11}{'count/p95':>11}")
    floor_p50, floor_p95 = p50_p95(
        timed(lambda: fetch(client, f"/g/{slug}/keys/", False), args.repeat)
    )
    print(
        f"{'floor, API keys page':<28}{floor_p50:>9.1f}{floor_p95:>9.1f}"
        f"{count_p50 / floor_p50:>10.1f}x{count_p50 / floor_p95:>10.1f}x"
    )
    today = timezone.localdate()
    ranges = {
        "today (hourly)": "range=today",
        "7 days": "range=7d",
        "30 days": f"range=custom&start={today - timedelta(days=29)}&end={today}",
        f"{args.days} days": (
            f"range=custom&start={today - timedelta(days=args.days - 1)}&end={today}"
        ),
    }
    for label, querystring in ranges.items():
        query = parse_usage_query(QueryDict(querystring))
        samples = timed(lambda q=query: usage_report(busiest, q), args.repeat)
        p50, p95 = p50_p95(samples)
        print(
            f"{'queries only, ' + label:<28}{p50:>9.1f}{p95:>9.1f}"
            f"{count_p50 / p50:>10.1f}x{count_p50 / p95:>10.1f}x"
        )
        for kind, path, streamed in (
            ("page", f"/g/{slug}/usage/?{querystring}", False),
            ("CSV", f"/g/{slug}/usage/export.csv?{querystring}", True),
        ):
            samples = timed(
                lambda path=path, streamed=streamed: fetch(client, path, streamed),
                args.repeat,
            )
            p50, p95 = p50_p95(samples)
            print(
                f"{kind + ', ' + label:<28}{p50:>9.1f}{p95:>9.1f}"
                f"{count_p50 / p50:>10.1f}x{count_p50 / p95:>10.1f}x"
            )
    print()
    print(
        f"100x the count is {count_p50 / 100:.2f} ms a page (count p50 / 100); "
        f"the floor's p50 is {floor_p50 / (count_p50 / 100):.0f} times that."
    )


def busiest_group() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT group_id, sum(requests) FROM usage_modelhourrollup
            GROUP BY group_id ORDER BY 2 DESC LIMIT 1
            """
        )
        row = cursor.fetchone()
    if row is None:
        sys.exit("usage_bench: no usage to time; run without --reuse first")
    return row[0], int(row[1])


def main() -> None:
    args = parse_args()
    check_database(args)
    # The test client's host name; not setup_test_environment, whose template
    # instrumentation would slow every render below what a server does.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    if not args.reuse:
        started = time.perf_counter()
        generate(args)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    measure(args)


if __name__ == "__main__":
    main()
