from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker said it was alive (written by a worker boot step)."""

    hostname = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
