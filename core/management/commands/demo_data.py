from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.services import demo_history_load


class Command(BaseCommand):
    help = (
        "Load realistic multi-source demo history (Apple Watch + iPhone, Oura + WHOOP, "
        "Withings, Strava, MyFitnessPal) for a user, through the ingestion service. "
        "Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default="demo@healthhub.local")
        parser.add_argument("--days", type=int, default=60, help="Days of history, up to today.")
        parser.add_argument(
            "--hr-every",
            type=int,
            default=5,
            dest="hr_every",
            help="Minutes between heart-rate readings.",
        )

    def handle(self, *args, email, days, hr_every, **options):
        try:
            user = get_user_model().objects.get(email=email)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {email}; run demo_account first.") from exc
        today = timezone.localdate(timezone=ZoneInfo(user.timezone))
        first = today - timedelta(days=days - 1)
        results = demo_history_load(
            user=user, first=first, last=today - timedelta(days=1), hr_every_minutes=hr_every
        )
        for kind, result in results.items():
            self.stdout.write(
                f"{kind}: {result.created} new, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.rejected} rejected"
            )
