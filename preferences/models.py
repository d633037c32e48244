from django.conf import settings
from django.db import models

from metrics.catalog import Category
from metrics.models import DataSource

# SourcePriority.metric value meaning "the whole category" (catalog ids start at 1).
WHOLE_CATEGORY = 0


class SourcePriority(models.Model):
    """One data source's place in a user's order for a category, or for one metric of it
    (a per-metric override). Rank 0 is the most trusted. Sources without a row join the
    order at their default position (preferences.selectors.source_order_for)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    category = models.CharField(max_length=16, choices=[(c.value, c.value) for c in Category])
    metric = models.PositiveSmallIntegerField(default=WHOLE_CATEGORY)
    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE)
    rank = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category", "metric", "data_source"], name="priority_unique_source"
            ),
            models.UniqueConstraint(
                fields=["user", "category", "metric", "rank"], name="priority_unique_rank"
            ),
        ]
        ordering = ["user", "category", "metric", "rank"]

    def __str__(self) -> str:
        return f"{self.category}/{self.metric or '*'} #{self.rank}: {self.data_source}"


class RecomputeRun(models.Model):
    """A background recomputation of resolved values after a priority change."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    metrics = models.JSONField(help_text="Catalog ids of the metrics to recompute.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"recompute #{self.pk} ({self.status}, {self.done}/{self.total})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)
