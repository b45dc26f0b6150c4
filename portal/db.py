"""Run a hot statement as a prepared statement on PostgreSQL.

Django's cursors bind parameters on the client, so PostgreSQL parses and plans
every query it is sent. The two statements every metered call runs (the key
lookup and the debit) go through here instead: each is prepared once per
connection and then only executed, which saves PostgreSQL more CPU per call than
the statements themselves cost.
"""

import time

import psycopg
from django.conf import settings
from django.db import connection


def fetch_one(sql: str, params: dict | list) -> tuple | None:
    """Run `sql` and return its first row, prepared once per connection on PostgreSQL.

    Checked, connected and logged as Django's own cursors are. Elsewhere it runs
    through Django's cursor, so the same code serves SQLite.
    """
    if not settings.DATABASE_IS_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    started = time.monotonic()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if connection.queries_logged:
        elapsed = time.monotonic() - started
        connection.queries_log.append({"sql": sql, "time": f"{elapsed:.3f}"})
    return row
