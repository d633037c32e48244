"""The unified store at scale, on PostgreSQL: one user with five years of per-minute heart
rate (about 2.6 million samples) from one watch.

Figures:
- ingest_samples_per_s: fresh samples through metrics.services.samples_ingest in batches
  of 20 000, rollup refresh included (records built beforehand, not timed).
- reingest_new_rows, reingest_samples_per_s: the same records again.
- bytes_per_sample: the sample table on disk, indexes included, per row.
- series_year_day_p50_ms: GET /api/v1/series/ for one year at day resolution.
- series_month_raw_p50_ms: GET /api/v1/series/ for one month of raw heart rate.
"""

import statistics
import time
from datetime import UTC, datetime, timedelta

from _setup import fresh_user, report, setup_django

setup_django()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.services import access_token_create  # noqa: E402
from metrics.schemas import SampleIn, SourceRef  # noqa: E402
from metrics.services import samples_ingest  # noqa: E402

EMAIL = "bench-metrics@example.org"
FIRST = datetime(2021, 1, 1, 8, 0, tzinfo=UTC)
MINUTES = 5 * 365 * 24 * 60
WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,2")
ROUNDS = 50


def heart_rate_records() -> list[SampleIn]:
    records = []
    for minute in range(MINUTES):
        moment = FIRST + timedelta(minutes=minute)
        bpm = 62 + 25 * ((minute // 60) % 24 in range(9, 21)) + (minute * 7919) % 13
        records.append(SampleIn("heart_rate", moment, moment, float(bpm), "count/min", WATCH, -480))
    return records


def timed_get(client: Client, url: str) -> float:
    timings = []
    for _ in range(5):
        assert client.get(url).status_code == 200, url
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(timings)


def main() -> None:
    user = fresh_user(EMAIL)
    records = heart_rate_records()

    start = time.perf_counter()
    first = samples_ingest(user=user, records=records)
    elapsed = time.perf_counter() - start
    assert first.created == len(records) and first.rejected == 0, first.as_dict()
    report("ingest_samples_per_s", len(records) / elapsed, "samples/s")

    start = time.perf_counter()
    again = samples_ingest(user=user, records=records)
    elapsed = time.perf_counter() - start
    report("reingest_new_rows", again.created + again.updated, "rows")
    report("reingest_samples_per_s", len(records) / elapsed, "samples/s")

    with connection.cursor() as cursor:
        # Compact, as the table is in steady state (no dead space left by earlier runs),
        # then a plain vacuum sets the visibility map as autovacuum does in production.
        cursor.execute("VACUUM FULL metrics_sample")
        cursor.execute("VACUUM ANALYZE metrics_sample")
        cursor.execute(
            "SELECT pg_total_relation_size('metrics_sample')::float8 / count(*) FROM metrics_sample"
        )
        report("bytes_per_sample", cursor.fetchone()[0], "bytes")

    raw = access_token_create(user=user, name="bench", scope="read").raw
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    year = "/api/v1/series/?metric=heart_rate&resolution=day&start=2024-01-01&end=2024-12-31"
    report("series_year_day_p50_ms", timed_get(client, year), "ms")
    month = (
        "/api/v1/series/?metric=heart_rate&resolution=raw"
        "&start=2024-03-01T00:00:00Z&end=2024-04-01T00:00:00Z"
    )
    report("series_month_raw_p50_ms", timed_get(client, month), "ms")


if __name__ == "__main__":
    main()
