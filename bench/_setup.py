"""Shared set-up for benchmarks: Django on a dedicated, migrated `<db>_bench` database."""

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthhub.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    # Throttling still runs (its cache round-trips are part of the cost) but never trips.
    os.environ.setdefault("API_THROTTLE_USER", "100000000/hour")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base, _, name = url.rpartition("/")
        bench_name = f"{name or 'healthhub'}_bench"
        _create_database(f"{base}/postgres", bench_name)
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _create_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def report(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.3f} {unit}", flush=True)


def percentile(samples: list[float], pct: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(pct) - 1]


def fresh_user(email: str, **defaults):
    """The benchmark's user, without any data from an earlier run; the tables vacuumed
    so the previous run's dead rows neither bloat them nor slow the inserts timed."""
    from django.db import connection

    from accounts.models import User
    from metrics.models import DataSource

    user, _ = User.objects.get_or_create(email=email, defaults=defaults)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM metrics_sample WHERE data_source_id IN "
            "(SELECT id FROM metrics_datasource WHERE user_id = %s)",
            [user.id],
        )
    DataSource.objects.filter(user=user).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE metrics_sample")
        cursor.execute("VACUUM ANALYZE metrics_dailyrollup")
    return user
