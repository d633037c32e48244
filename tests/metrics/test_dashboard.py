from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.services import demo_history_load

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_resolved_values_with_their_provenance(user_client, user):
    today = timezone.localdate()
    demo_history_load(user=user, first=today - timedelta(days=3), last=today - timedelta(days=1))
    page = user_client.get("/")
    assert page.status_code == 200
    cards = {card["metric"].key: card for card in page.context["cards"]}
    assert {"steps", "sleep_asleep", "body_mass", "readiness_score"} <= set(cards)
    steps = cards["steps"]
    assert steps["explanation"].startswith("Apple Watch (Apple Health) ")
    assert "iPhone (Apple Health)" in steps["explanation"]
    assert "(gaps only)" in steps["explanation"]
    assert b"Recent nights" in page.content
    assert b"also recorded by WHOOP" in page.content  # the ring's night stands for both
    assert b"also recorded by Strava" in page.content or not page.context["workouts"]


def test_an_empty_account_gets_the_empty_state(user_client):
    page = user_client.get("/")
    assert b"No health data yet" in page.content
