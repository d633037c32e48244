from django.core.management.base import BaseCommand, CommandError

from sources.models import Connection
from sources.services.sync import payloads_replay


class Command(BaseCommand):
    help = (
        "Normalize a connection's kept raw provider payloads again and write the result "
        "(after fixing a normalizer). Payloads are kept for SYNC_RAW_PAYLOAD_DAYS days."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection_id", type=int)
        parser.add_argument("--data-type", default="", help="Only this data type.")

    def handle(self, *args, connection_id, data_type, **options):
        try:
            connection = Connection.objects.get(id=connection_id)
        except Connection.DoesNotExist as exc:
            raise CommandError(f"No connection with id {connection_id}.") from exc
        totals = payloads_replay(connection=connection, data_type=data_type)
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in totals.items()))
