import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_email_and_password_reaches_the_dashboard(client, user):
    response = login(client, user.email)
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert b"Dashboard" in page.content
    for label in (b"Sources", b"Imports", b"Priorities", b"API", b"Account"):
        assert label in page.content


def test_wrong_password_is_refused(client, user):
    response = login(client, user.email, "not-the-password")
    assert response.status_code == 200
    assert b"not correct" in response.content
    assert client.get("/").status_code == 302


def test_pages_require_login(client):
    for url in ("/", "/sources/", "/imports/", "/priorities/", "/account/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_sixth_failed_login_for_one_account_is_rate_limited(client, user):
    for _ in range(5):
        assert login(client, user.email, "wrong-password").status_code == 200
    response = login(client, user.email, "wrong-password")
    assert b"Too many failed login attempts" in response.content
    # ... and the right password is refused too while the limit holds.
    response = login(client, user.email)
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert client.get("/").status_code == 302


def test_admin_login_goes_through_the_rate_limited_allauth_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    staff = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    for _ in range(5):
        login(client, staff.email, "wrong-password")
    response = login(client, staff.email)
    assert b"Too many failed login attempts" in response.content
    assert client.get("/admin/").status_code == 302


def test_unverified_email_cannot_log_in_until_confirmed(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="new@example.org")
    EmailAddress.objects.filter(user=user).update(verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, user.email)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302
    assert len(mail.outbox) == 1
    assert "Please Confirm Your Email Address" in mail.outbox[0].subject


def test_password_reset_sends_a_link_that_sets_a_new_password(
    client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "/password/reset/key/" in line
    ).strip()
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 302  # allauth moves the key out of the URL
    response = client.post(
        response["Location"],
        {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"},
    )
    assert response.status_code == 302
    assert login(client, user.email, "a-brand-new-passphrase").status_code == 302


def test_logout_ends_the_server_session(user_client):
    session_key = user_client.session.session_key
    response = user_client.post("/accounts/logout/")
    assert response.status_code == 302
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session_key).exists()
    assert user_client.get("/").status_code == 302
