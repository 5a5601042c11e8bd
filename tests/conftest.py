from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_upstream import RunningFakeUpstream, running_fake_upstream


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFakeUpstream]:
    """The scripted fake provider on loopback, one per test module."""
    with running_fake_upstream() as running:
        yield running
