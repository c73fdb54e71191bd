from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from tests.imports.helpers import Hold, holding


@pytest.fixture
def hold(api: FastAPI) -> Iterator[Hold]:
    """The app's import jobs held after their first chunk of 2 rows until released."""
    yield from holding(api)
