"""The provider registry: one module per provider, one line here each."""

from sources.providers.base import Provider

REGISTRY: dict[str, Provider] = {}


def register(provider_class: type[Provider]) -> type[Provider]:
    REGISTRY[provider_class.slug] = provider_class()
    return provider_class


def get(slug: str) -> Provider:
    return REGISTRY[slug]


def all_providers() -> list[Provider]:
    return sorted(REGISTRY.values(), key=lambda item: item.name)


def configured() -> list[Provider]:
    """Providers with a client id and secret: the only ones offered to users."""
    return [item for item in all_providers() if item.configured]


# The registry lines: each module registers its Provider subclass with @register.
from sources.providers import oura  # noqa: E402, F401, I001
from sources.providers import whoop  # noqa: E402, F401
from sources.providers import withings  # noqa: E402, F401
