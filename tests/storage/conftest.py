"""What the storage tests share beside ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lottrack.demo.scenario import Scenario
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tests.factories import make_scenario


@pytest.fixture
def sc(db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]) -> Scenario:
    """Everything a subject's journey needs on the test's database, created through the
    services (:func:`tests.factories.make_scenario`)."""
    return make_scenario(db, admin, make_user)
