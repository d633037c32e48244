"""The Sources page: connect providers, see each connection's sync health, sync now,
disconnect (keeping or deleting that source's data)."""

import zoneinfo
from urllib.parse import urlsplit

from allauth.account.decorators import reauthentication_required
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from sources import providers, selectors
from sources.models import Connection


def connect_url(slug: str) -> str:
    """allauth's login URL of the provider, started with process=connect (POST only)."""
    try:
        path = reverse(f"{slug}_login")
    except NoReverseMatch:
        path = f"/accounts/{slug}/login/"
    return f"{path}?process=connect"


def _with_connect_form_action(response):
    """The Connect forms POST to allauth, which redirects to the provider's authorize page.
    Browsers apply `form-action` to that redirect too, so the page allows exactly the
    configured providers' authorize origins (and still 'self')."""
    origins = []
    for provider in providers.configured():
        parts = urlsplit(provider.config.get("AUTHORIZE_URL", ""))
        if parts.scheme in ("https", "http") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    if origins:
        config = dict(settings.SECURE_CSP)
        config["form-action"] = [*config.get("form-action", []), *origins]
        response._csp_config = config
    return response


def _connection(request, connection_id: int) -> Connection:
    try:
        return selectors.connection_get(user=request.user, connection_id=connection_id)
    except Connection.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_GET
def index(request):
    states = selectors.connection_states_for_user(user=request.user)
    offered = [
        {
            "provider": provider,
            "connect_url": connect_url(provider.slug),
            "delivers": selectors.metric_labels(provider.metrics),
        }
        for provider in selectors.providers_offered(user=request.user)
    ]
    for state in states:
        state.connect_url = connect_url(state.connection.provider)
        state.refusal = selectors.sync_refusal(connection=state.connection)
        for run in state.runs:
            run.counts_summary = selectors.run_counts_summary(run)
            run.duration = selectors.run_duration(run)
            run.duration_text = _duration_text(run.duration)
            run.error_plain = selectors.error_in_plain_words(run.error, name=state.name)
    ctx = {
        "states": states,
        "offered": offered,
        "any_configured": bool(providers.configured()),
        "env_names": [
            f"{slug.upper()}_CLIENT_ID / {slug.upper()}_CLIENT_SECRET"
            for slug in settings.HEALTHHUB_PROVIDERS
        ],
        "user_timezone": request.user.timezone,
    }
    return _with_connect_form_action(render(request, "sources/index.html", ctx))


def _duration_text(duration) -> str:
    if duration is None:
        return ""
    seconds = int(duration.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _display(value, zone) -> str:
    if value is None:
        return ""
    return f"{timezone.localtime(value, zone):%Y-%m-%d %H:%M}"


def connection_status_payload(state, zone) -> dict:
    """What the page's script refreshes without a reload (no tokens, no health values)."""
    connection = state.connection
    return {
        "id": connection.id,
        "provider": connection.provider,
        "status": connection.status,
        "status_label": connection.get_status_display(),
        "syncing": state.syncing,
        "queued": state.queued,
        "last_sync": _display(connection.last_sync_at, zone),
        "next_sync": _display(state.next_sync_at, zone),
        "parked_until": _display(state.parked_until, zone),
        "last_error": state.last_error,
        "backfill_percent": state.backfill_percent,
        "latest_run_id": state.runs[0].id if state.runs else None,
    }


@login_required
@require_GET
def status(request):
    try:
        zone = zoneinfo.ZoneInfo(request.user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    states = selectors.connection_states_for_user(user=request.user, runs=1)
    return JsonResponse(
        {"connections": [connection_status_payload(state, zone) for state in states]}
    )


@login_required
@require_POST
def sync_now(request, connection_id: int):
    from sources.services.sync import sync_request

    connection = _connection(request, connection_id)
    refusal = selectors.sync_refusal(connection=connection)
    if refusal is None:
        run = sync_request(connection=connection, trigger="manual")
        if run is None:
            # Someone (the schedule, a webhook) got there first, or it just got parked.
            connection.refresh_from_db()
            refusal = selectors.sync_refusal(connection=connection) or selectors.SyncRefusal(
                "sync_running",
                f"{selectors.provider_name(connection.provider)} is already syncing.",
            )
    if refusal is not None:
        messages.warning(request, refusal.message)
    else:
        messages.success(
            request, f"Sync of {selectors.provider_name(connection.provider)} started."
        )
    return redirect("sources:index")


class DisconnectForm(forms.Form):
    data = forms.ChoiceField(
        label="What happens to the data it already brought in?",
        choices=[
            ("keep", "Keep it: it stays in your dashboard and exports."),
            ("delete", "Delete it: every sample, night and workout from this source."),
        ],
        widget=forms.RadioSelect,
    )


def _disconnect_page(request, connection, form, status=200):
    ctx = {
        "connection": connection,
        "name": selectors.provider_name(connection.provider),
        "form": form,
    }
    return render(request, "sources/disconnect.html", ctx, status=status)


@login_required
def disconnect(request, connection_id: int):
    connection = _connection(request, connection_id)
    if connection.status == Connection.Status.DISCONNECTED:
        raise Http404
    if request.method == "POST":
        return _disconnect_confirmed(request, connection)
    return _disconnect_page(request, connection, DisconnectForm())


@reauthentication_required
def _disconnect_confirmed(request, connection):
    from sources.services.connections import connection_disconnect

    form = DisconnectForm(request.POST)
    if not form.is_valid():
        return _disconnect_page(request, connection, form, status=400)
    delete_data = form.cleaned_data["data"] == "delete"
    name = selectors.provider_name(connection.provider)
    connection_disconnect(connection=connection, delete_data=delete_data)
    if delete_data:
        messages.success(request, f"{name} is disconnected and its data deleted.")
    else:
        messages.success(request, f"{name} is disconnected; its data is kept.")
    return redirect("sources:index")
