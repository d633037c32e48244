import structlog
from celery import shared_task

logger = structlog.get_logger(__name__)


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def send_email_task(*, subject: str, body: str, to: list[str], html: str | None = None):
    """Send one email (allauth's verification, reset and security notices go through here,
    so a slow SMTP server never blocks a request)."""
    from core.services import email_send

    email_send(subject=subject, body=body, to=to, html=html)
    logger.info("email_sent", recipients=len(to))


@shared_task
def clear_expired_sessions_task():
    from django.core.management import call_command

    call_command("clearsessions")
    logger.info("expired_sessions_cleared")
