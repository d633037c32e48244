import pytest
from django.core.cache import cache

from healthhub.celery import app as celery_app
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # The test client speaks plain HTTP; production keeps the redirect (see test_security).
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic in tests: resolve {% static %} without the production manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run inline, except in tests that start a real worker (tests/core/test_worker.py)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _provider_registry():
    """Tests may register test-only providers; none outlives its test."""
    from sources.providers import REGISTRY

    saved = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(saved)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits, throttles and used TOTP codes live in the (Redis) cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory(email="alice@example.org")


@pytest.fixture
def other_user(db):
    return UserFactory(email="charlie@example.org")


def login(client, email: str, password: str = PASSWORD):
    """Log in through allauth's real login form (so reauthentication records exist)."""
    return client.post("/accounts/login/", {"login": email, "password": password})


@pytest.fixture
def user_client(client, user):
    response = login(client, user.email)
    assert response.status_code == 302, response.content
    return client


def reauthenticate(client, password: str = PASSWORD):
    """Confirm the password again, as allauth asks before sensitive changes."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content
    return response
