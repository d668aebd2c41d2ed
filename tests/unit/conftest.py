"""Fixtures of the tests that run the Zoom API double in process (no containers)."""

from __future__ import annotations

import pytest
import zoom_api_double as zd


@pytest.fixture(scope="module")
def openapi() -> zd.OpenApiCheck:
    """Zoom's OpenAPI document, to check the double's answers against."""
    return zd.OpenApiCheck()


@pytest.fixture
def clock() -> zd.ManualClock:
    return zd.ManualClock()
