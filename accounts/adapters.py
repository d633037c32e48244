from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings

from core import crypto


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.SIGNUP_OPEN

    def send_mail(self, template_prefix, email, context):
        """Render as allauth does, then send from a Celery task (after commit), so a slow
        or failing SMTP server neither blocks nor breaks the request."""
        from core.tasks import send_email_task

        message = self.render_mail(template_prefix, email, context)
        html = None
        if getattr(message, "alternatives", None):
            html = message.alternatives[0][0]
        elif message.content_subtype == "html":
            html = message.body
        send_email_task.delay_on_commit(
            subject=message.subject, body=message.body, to=list(message.to), html=html
        )


class MFAAdapter(DefaultMFAAdapter):
    """TOTP seeds and recovery-code seeds are stored encrypted (allauth keeps them in clear
    by default)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
