"""API request latency, in process (Django test client, no network), on PostgreSQL.

Figures: api_me_p50_ms, api_me_p95_ms (GET /api/v1/me/ with a personal access token).
"""

import time

from _setup import percentile, report, setup_django

setup_django()

from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import access_token_create  # noqa: E402

ROUNDS = 300


def main() -> None:
    user, _ = User.objects.get_or_create(email="bench@example.org")
    raw = access_token_create(user=user, name="bench", scope="read").raw
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for _ in range(20):  # warm-up: connections, caches, imports
        assert client.get("/api/v1/me/").status_code == 200
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get("/api/v1/me/")
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    report("api_me_p50_ms", percentile(timings, 50), "ms")
    report("api_me_p95_ms", percentile(timings, 95), "ms")


if __name__ == "__main__":
    main()
