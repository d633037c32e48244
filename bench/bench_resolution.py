"""Resolution at scale, on PostgreSQL: a user with five years of the demo's multi-source
history (Apple Watch + iPhone steps, Oura + WHOOP sleep, Withings, food...).

Figures:
- resolve_5y_recompute_s: recompute every resolved daily value after a priority change.
- resolved_year_p50_ms: one metric's resolved daily series for a year through the API.
"""

import statistics
import time
from datetime import date

from _setup import report, setup_django

setup_django()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import access_token_create  # noqa: E402
from metrics.catalog import Category  # noqa: E402
from metrics.models import DataSource, ResolvedDaily  # noqa: E402
from metrics.services import demo_history_load, resolved_recompute  # noqa: E402
from preferences.models import SourcePriority  # noqa: E402
from preferences.selectors import source_order_for  # noqa: E402

EMAIL = "bench-resolution@example.org"
FIRST, LAST = date(2021, 1, 1), date(2025, 12, 31)
ROUNDS = 50


def user_with_history() -> User:
    """Five years of demo history, loaded once and kept (loading is idempotent)."""
    user, created = User.objects.get_or_create(
        email=EMAIL, defaults={"timezone": "America/Los_Angeles"}
    )
    if created or not DataSource.objects.filter(user=user).exists():
        demo_history_load(user=user, first=FIRST, last=LAST)
    return user


def main() -> None:
    user = user_with_history()
    # The priority change: the phone before the watch for activity.
    order = source_order_for(user=user, category=Category.ACTIVITY)
    SourcePriority.objects.filter(user=user).delete()
    SourcePriority.objects.bulk_create(
        SourcePriority(user=user, category=Category.ACTIVITY, data_source=s, rank=i)
        for i, s in enumerate(reversed(order))
    )
    start = time.perf_counter()
    written = resolved_recompute(user=user)
    report("resolve_5y_recompute_s", time.perf_counter() - start, "s")
    assert written == ResolvedDaily.objects.filter(user=user).count() > 40_000, written

    raw = access_token_create(user=user, name="bench", scope="read").raw
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = "/api/v1/resolved/daily/?metric=steps&start=2024-01-01&end=2024-12-31"
    timings = []
    for _ in range(5):
        assert client.get(url).status_code == 200, url
    for _ in range(ROUNDS):
        begin = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200
    report("resolved_year_p50_ms", statistics.median(timings), "ms")
    connection.close()


if __name__ == "__main__":
    main()
