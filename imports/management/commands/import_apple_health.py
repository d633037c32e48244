import os
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from imports.apple_health.parser import MalformedExport
from imports.services import apple_health_import


class Command(BaseCommand):
    help = "Import an Apple Health export.zip (or export.xml) for a user, in the foreground."
    # The system checks (a fifth of a second) guard development work, not an import;
    # `manage.py check` and every deploy run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="The account's email address.")

    def handle(self, *args, file, user, **options):
        try:
            owner = get_user_model().objects.get(email=user)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {user}.") from exc
        if not os.path.isfile(file):
            raise CommandError(f"No file {file}.")
        size = os.path.getsize(file)
        started = time.monotonic()

        def progress(report):
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = report.records / elapsed
            self.stdout.write(
                f"\r{report.bytes_read / 2**20:,.0f} MiB read · {report.records:,} records "
                f"· {rate:,.0f} records/s",
                ending="",
            )
            self.stdout.flush()

        try:
            result = apple_health_import(user=owner, path=file, progress=progress)
        except MalformedExport as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        parse, samples = result["parse"], result["samples"]
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"{parse['records']:,} records from {size / 2**20:,.1f} MiB in {elapsed:.1f} s: "
                f"{samples['created']:,} new samples, {samples['updated']:,} updated, "
                f"{samples['unchanged']:,} unchanged, {samples['rejected']:,} rejected; "
                f"{result['sleep_sessions']['created']} new nights, "
                f"{result['workouts']['created']} new workouts."
            )
        )
        if parse["unknown_types"]:
            self.stdout.write(
                "Types HealthHub does not store yet: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(parse["unknown_types"].items()))
            )
        for region in parse["malformed"]:
            self.stdout.write(
                f"Skipped a malformed region at line {region['line']}: {region['message']}"
            )
        routes = result["routes"]
        if routes["attached"]:
            self.stdout.write(f"{routes['attached']:,} workout routes read.")
        for problem in routes["problems"]:
            self.stdout.write(
                f"Kept a workout without its route {problem['file']}: {problem['message']}"
            )
