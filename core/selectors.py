from datetime import datetime

from django.db.models import Max

from core.models import WorkerHeartbeat


def latest_worker_heartbeat() -> datetime | None:
    return WorkerHeartbeat.objects.aggregate(latest=Max("last_seen"))["latest"]
