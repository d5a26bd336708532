"""Fixtures of the app-state and screen tests: the small school on the in-process server,
and the phones a test starts against it (all locked at the end)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.client.ui_support import Phones
from tests.sync_support import School, small_school


@pytest.fixture
def school(app: FastAPI) -> School:
    return small_school(app)


@pytest.fixture
def phones(client: TestClient, tmp_path: Path, school: School) -> Iterator[Phones]:
    made = Phones(client, tmp_path)
    yield made
    made.close()
