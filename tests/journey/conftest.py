import pytest
from django.db import connection

from tests.journey.stack import Stack


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def stack(postgres, redis_url, transactional_db, tmp_path):
    """The whole product running as in production, on the test database."""
    running = Stack(database_url=_database_url(), redis_url=redis_url, workdir=tmp_path)
    try:
        yield running.start()
    finally:
        running.stop()
