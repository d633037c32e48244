"""Fixtures for the Sources page, API, admin and command tests: the engine's minimal
provider ("Pulse", tests/sources/engine_provider.py) behind its local fake server, and
connections carrying known token strings so tests can prove they never leak."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sources import providers
from tests.sources.engine_provider import SLUG, FakePulse, install
from tests.sources.ui.helpers import make_connection


@pytest.fixture(autouse=True)
def clean_registry(settings):
    """The registry as the settings know it, restored afterwards: other tests register
    test providers (Pulse, a dummy) that have no settings once those tests end."""
    saved = dict(providers.REGISTRY)
    for slug in list(providers.REGISTRY):
        if slug not in settings.HEALTHHUB_PROVIDERS:
            del providers.REGISTRY[slug]
    yield providers.REGISTRY
    providers.REGISTRY.clear()
    providers.REGISTRY.update({k: v for k, v in saved.items() if k != SLUG})


@pytest.fixture
def fake():
    now = timezone.now()
    with FakePulse(now - timedelta(days=30), now - timedelta(minutes=5)) as server:
        yield server


@pytest.fixture
def pulse(settings, clean_registry, fake):
    settings.SYNC_RAW_PAYLOAD_DAYS = 0
    return install(settings, fake)


@pytest.fixture
def connection(user, pulse):
    return make_connection(user)
