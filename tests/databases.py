"""Fresh PostgreSQL databases for the tests, each dropped after use. Where PostgreSQL
cannot be reached the test is skipped, except under CI, where that is a failure."""

import contextlib
import os
from collections.abc import Iterator
from typing import NoReturn

import psycopg
import pytest

from bench.loopback import PG_ADMIN_URL, postgres_database


def pg_unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable ({reason}); set CAREROUNDS_TEST_PG_URL")


@contextlib.contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """The URL of an empty database of its own (named `prefix`_pid_random)."""
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pg_unavailable(str(exc).strip().splitlines()[0])
    with postgres_database(prefix) as url:
        yield url
