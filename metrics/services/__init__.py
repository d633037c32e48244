"""Writes to the unified store: ingestion (ingest.py) and resolution (resolve.py)."""

from metrics.services.ingest import (
    BATCH_SIZE,
    IngestResult,
    demo_history_load,
    local_day,
    rollups_refresh,
    samples_ingest,
    sleep_sessions_ingest,
    workouts_ingest,
)
from metrics.services.resolve import resolved_recompute, resolved_refresh

__all__ = [
    "BATCH_SIZE",
    "IngestResult",
    "demo_history_load",
    "local_day",
    "resolved_recompute",
    "resolved_refresh",
    "rollups_refresh",
    "samples_ingest",
    "sleep_sessions_ingest",
    "workouts_ingest",
]
