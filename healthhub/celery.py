"""The Celery app: settings under the CELERY_ namespace, tasks autodiscovered per app."""

import os
import socket

from celery import Celery, bootsteps
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthhub.settings")

app = Celery("healthhub", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WorkerHeartbeatStep(bootsteps.StartStopStep):
    """Writes this worker's heartbeat to the database every WORKER_HEARTBEAT_SECONDS from
    the worker's own timer, so /readyz can tell that a worker is really running."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        from django.conf import settings

        hostname = getattr(worker, "hostname", None) or socket.gethostname()
        self._beat(hostname)
        self.tref = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, self._beat, (hostname,), priority=10
        )

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    @staticmethod
    def _beat(hostname):
        import structlog
        from django.db import connection

        from core.services import worker_heartbeat_record

        try:
            worker_heartbeat_record(hostname=hostname)
        except Exception:  # a database hiccup must not kill the worker; readyz will tell
            structlog.get_logger(__name__).warning("worker_heartbeat_failed", exc_info=True)
        finally:
            # This runs in the worker's parent process: never keep a connection that
            # forked pool children could inherit.
            connection.close()


app.steps["worker"].add(DjangoStructLogInitStep)
app.steps["worker"].add(WorkerHeartbeatStep)
