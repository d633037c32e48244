from datetime import timedelta

from django import forms
from django.utils import timezone

from accounts.models import PersonalAccessToken


class AccessTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use this token?")
    scope = forms.ChoiceField(
        choices=PersonalAccessToken.Scope.choices,
        initial=PersonalAccessToken.Scope.READ,
        widget=forms.RadioSelect,
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        choices=[(30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), (0, "never")],
        initial=90,
    )

    def expires_at(self):
        days = self.cleaned_data["expires_in_days"]
        return timezone.now() + timedelta(days=days) if days else None


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False)
    timezone = forms.CharField(
        max_length=64,
        label="Home time zone",
        help_text="Used for days when a record does not say where it was measured.",
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )

    def clean_timezone(self):
        from accounts.models import validate_timezone

        value = self.cleaned_data["timezone"]
        validate_timezone(value)
        return value
