"""`/webhooks/<provider>/`: verify, deduplicate, enqueue, answer fast.

The provider module verifies (signature over the raw body, timestamp freshness, or the
handshake); a delivery id seen before is acknowledged and ignored (replays); a valid event
only writes a delivery row and queues a targeted sync, so the answer comes well inside
every provider's deadline (Withings 2 s). A rejected request has no side effects.
"""

import structlog
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sources import providers
from sources.errors import WebhookRejected
from sources.models import WebhookDelivery
from sources.services.sync import webhook_event_apply

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 256 * 1024


@csrf_exempt
def receive(request: HttpRequest, slug: str) -> HttpResponse:
    provider = providers.REGISTRY.get(slug)
    if provider is None or not provider.configured or not provider.webhooks:
        return HttpResponse(status=404)
    if request.method in ("GET", "HEAD"):
        answer = provider.webhook_handshake(request)
        return answer if answer is not None else HttpResponse(status=404)
    if request.method != "POST":
        return HttpResponse(status=405)
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    try:
        events = provider.verify_webhook(request)
    except WebhookRejected as exc:
        log.warning("webhook_rejected", provider=slug, reason=str(exc))
        return HttpResponse(status=exc.status)
    queued = 0
    for event in events:
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(provider=slug, delivery_id=event.delivery_id[:200])
        except IntegrityError:
            log.info("webhook_replayed", provider=slug)
            continue
        if webhook_event_apply(provider, event) is not None:
            queued += 1
    log.info("webhook_accepted", provider=slug, events=len(events), queued=queued)
    return HttpResponse(status=200)
