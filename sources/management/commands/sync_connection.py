from django.core.management.base import BaseCommand, CommandError

from sources import selectors
from sources.models import Connection, SyncRun


class Command(BaseCommand):
    help = (
        "Sync one connection in the foreground (same engine as the workers), printing "
        "progress; exits non-zero unless the run succeeds."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection_id", type=int, metavar="ID")
        parser.add_argument(
            "--data-type",
            dest="data_types",
            action="append",
            default=[],
            metavar="T",
            help="Only this data type (repeatable); default all of the provider's.",
        )

    def handle(self, *args, connection_id, data_types, **options):
        from sources.services.sync import SyncBusy, sync_run_now

        try:
            connection = Connection.objects.select_related("user").get(id=connection_id)
        except Connection.DoesNotExist as exc:
            raise CommandError(f"No connection {connection_id}.") from exc
        provider = selectors.provider_or_none(connection.provider)
        if provider is None:
            raise CommandError(f"Provider {connection.provider!r} is not available.")
        known = [item.name for item in provider.data_types]
        unknown = sorted(set(data_types) - set(known))
        if unknown:
            raise CommandError(
                f"Unknown data type(s) {', '.join(unknown)}; {provider.name} has: "
                f"{', '.join(known)}."
            )
        refusal = selectors.sync_refusal(connection=connection)
        if refusal is not None:
            raise CommandError(refusal.message)

        run = None
        if data_types:
            # A targeted run, as a webhook's: the engine syncs only its data types.
            run = SyncRun.objects.create(
                connection=connection,
                user_id=connection.user_id,
                trigger=SyncRun.Trigger.MANUAL,
                data_types=sorted(set(data_types)),
            )
        what = ", ".join(sorted(set(data_types))) if data_types else "all data types"
        self.stdout.write(f"Syncing {provider.name} connection #{connection.id} ({what})…")
        try:
            run = sync_run_now(
                connection=connection,
                trigger=SyncRun.Trigger.MANUAL,
                run=run,
                progress=self.progress,
            )
        except SyncBusy as exc:
            if run is not None:
                run.delete()
            raise CommandError("Another sync of this connection is running.") from exc
        self.stdout.write("")
        self.report(run, provider.name)
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"The sync ended {run.get_status_display().lower()}.")

    def progress(self, run) -> None:
        done = sum((c or {}).get("pages", 0) for c in (run.counts or {}).values())
        records = sum(
            (c or {}).get(key, 0)
            for c in (run.counts or {}).values()
            for key in ("samples", "sleep", "workouts")
        )
        self.stdout.write(
            f"\r{run.progress * 100:5.1f}% of the history · {done:,} pages · "
            f"{records:,} records · {run.requests:,} requests",
            ending="",
        )
        self.stdout.flush()

    def report(self, run, name: str) -> None:
        duration = selectors.run_duration(run)
        took = f" in {duration.total_seconds():.1f} s" if duration else ""
        line = f"Sync run #{run.id}: {run.get_status_display()}{took}, {run.requests} requests."
        style = self.style.SUCCESS if run.status == SyncRun.Status.SUCCEEDED else self.style.ERROR
        self.stdout.write(style(line))
        for data_type, text in selectors.run_counts_summary(run):
            self.stdout.write(f"  {data_type}: {text}")
        if run.error:
            self.stdout.write(f"  Problem: {selectors.error_in_plain_words(run.error, name=name)}")
