from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from preferences.selectors import dashboard_cards, sleep_events, workout_events


def _described(events, limit: int) -> list[dict]:
    return [
        {"best": best, "also": ", ".join(d.data_source.label for d in duplicates)}
        for best, duplicates in events[:limit]
    ]


@login_required
def dashboard(request):
    cards = dashboard_cards(user=request.user)
    ctx = {"cards": cards, "sleep": [], "workouts": []}
    if cards:
        ctx["sleep"] = _described(sleep_events(user=request.user), 3)
        ctx["workouts"] = _described(workout_events(user=request.user), 5)
    return render(request, "metrics/dashboard.html", ctx)
