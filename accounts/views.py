import zoneinfo

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import AccessTokenForm, ProfileForm
from accounts.models import PersonalAccessToken
from accounts.selectors import access_tokens_for_user
from accounts.services import access_token_create, access_token_revoke, user_update

# The raw token waits here, in the server-side session, between the POST that created it
# and the page that shows it; that page pops it, so it is shown exactly once.
NEW_TOKEN_SESSION_KEY = "accounts.new_access_token"  # noqa: S105 (a key name)


def _account_page(request, *, token_form=None, profile_form=None, status=200):
    user = request.user
    ctx = {
        "profile_form": profile_form
        or ProfileForm(initial={"display_name": user.display_name, "timezone": user.timezone}),
        "token_form": token_form or AccessTokenForm(),
        "tokens": access_tokens_for_user(user=user),
        "timezones": sorted(zoneinfo.available_timezones()),
        "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
    }
    return render(request, "accounts/index.html", ctx, status=status)


@login_required
def index(request):
    return _account_page(request)


@login_required
@require_POST
def profile_update(request):
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _account_page(request, profile_form=form, status=400)
    user_update(user=request.user, **form.cleaned_data)
    messages.success(request, "Profile saved.")
    return redirect("accounts:index")


@login_required
@require_POST
@reauthentication_required
def token_create(request):
    form = AccessTokenForm(request.POST)
    if not form.is_valid():
        return _account_page(request, token_form=form, status=400)
    created = access_token_create(
        user=request.user,
        name=form.cleaned_data["name"],
        scope=form.cleaned_data["scope"],
        expires_at=form.expires_at(),
    )
    # Post/redirect/get, so reloading the page never creates a second token.
    request.session[NEW_TOKEN_SESSION_KEY] = created.raw
    return redirect("accounts:index")


@login_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        token = access_token_revoke(user=request.user, token_id=token_id)
    except PersonalAccessToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:index")
