import pytest
from django.contrib.auth import get_user_model
from django.core import mail

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "bob@example.org",
    "password1": "a-long-enough-passphrase",
    "password2": "a-long-enough-passphrase",
}


def test_open_signup_creates_an_account_and_asks_to_verify_the_email(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SIGNUP_OPEN = True
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert get_user_model().objects.filter(email="bob@example.org").exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.org"]


def test_closed_signup_creates_nobody(client, settings):
    settings.SIGNUP_OPEN = False
    page = client.get("/accounts/signup/")
    assert b"Sign Up Closed" in page.content
    client.post("/accounts/signup/", SIGNUP)
    assert not get_user_model().objects.filter(email="bob@example.org").exists()
    assert mail.outbox == []
