from django.core.management.base import BaseCommand

from core.services import demo_account_ensure


class Command(BaseCommand):
    help = "Create (or reset the password of) the demo account, and print its login."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="demo@healthhub.local")
        parser.add_argument("--password", default="healthhub-demo")

    def handle(self, *args, email, password, **options):
        created = demo_account_ensure(email=email, password=password)
        verb = "Created" if created else "Reset"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} the demo account. Log in as {email} / {password}")
        )
