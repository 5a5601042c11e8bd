from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.proxy.servers import Faults, running_faults, running_proxy
from tests.support.fake_upstream import RunningFakeUpstream


@pytest.fixture(scope="module")
def proxy(fake: RunningFakeUpstream) -> Iterator[str]:
    """The proxy with default settings in front of the scripted fake."""
    with running_proxy(fake.url) as url:
        yield url


@pytest.fixture(scope="module")
def faults() -> Iterator[tuple[str, Faults]]:
    with running_faults() as running:
        yield running
