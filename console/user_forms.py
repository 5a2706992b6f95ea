"""Forms of the team pages: users, groups, role assignments, two-factor codes."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group

from buckets import vocabulary
from console.models import Endpoint, Role, RoleAssignment


class OTPTokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "pattern": "[0-9 ]*"}
        ),
        help_text="The 6-digit code your authenticator app shows now.",
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit() or len(token) not in (6, 8):
            raise forms.ValidationError("Enter the 6 digits of the code.")
        return token


class PasswordPairMixin:
    """Two password fields checked against each other and against the password validators."""

    def check_passwords(self, user, required: bool) -> str:
        p1, p2 = self.cleaned_data.get("password1") or "", self.cleaned_data.get("password2") or ""
        if not p1 and not p2:
            if required:
                self.add_error("password1", "Enter a password.")
            return ""
        if p1 != p2:
            self.add_error("password2", "The two passwords differ.")
            return ""
        try:
            password_validation.validate_password(p1, user)
        except forms.ValidationError as exc:
            self.add_error("password1", exc)
            return ""
        return p1


def _password_field(label: str, required: bool) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class UserCreateForm(PasswordPairMixin, forms.ModelForm):
    password1 = _password_field("Password", required=False)
    password2 = _password_field("Password again", required=False)

    class Meta:
        model = get_user_model()
        fields = ["username", "email", "first_name", "last_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = (
            password_validation.password_validators_help_text_html()
            + "Leave both empty to hand out a one-time set-password link instead."
        )

    def clean(self):
        data = super().clean()
        probe = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
        data["password"] = self.check_passwords(probe, required=False)
        return data


class SetPasswordForm(PasswordPairMixin, forms.Form):
    password1 = _password_field("New password", required=True)
    password2 = _password_field("New password again", required=True)

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        data = super().clean()
        data["password"] = self.check_passwords(self.user, required=True)
        return data


class RoleAssignmentForm(forms.Form):
    """A role on a scope; the user or group it goes to comes from the page."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    endpoint = forms.ModelChoiceField(
        queryset=Endpoint.objects.all(), required=False, empty_label="All endpoints (everything)"
    )
    bucket = forms.CharField(required=False, max_length=63, help_text="Empty: the whole endpoint.")
    prefix = forms.CharField(
        required=False, max_length=1024, strip=False, help_text="Empty: the whole bucket. E.g. team-a/"
    )

    def __init__(self, *args, principal=None, **kwargs):
        self.principal = principal  # a User or a Group
        super().__init__(*args, **kwargs)

    def clean_bucket(self) -> str:
        return self.cleaned_data["bucket"].strip()

    def clean_prefix(self) -> str:
        prefix = self.cleaned_data["prefix"].lstrip("/")
        if len(prefix.encode()) > 1024:
            raise forms.ValidationError("A prefix is at most 1,024 bytes.")
        return prefix

    def clean(self):
        data = super().clean()
        endpoint, bucket, prefix = data.get("endpoint"), data.get("bucket", ""), data.get("prefix", "")
        if bucket and endpoint is None:
            self.add_error("endpoint", "Choose the endpoint of the bucket.")
        elif bucket and not endpoint.buckets.filter(name=bucket).exists():
            for error in vocabulary.bucket_name_errors(bucket):
                self.add_error("bucket", error)
        if prefix and not bucket:
            self.add_error("prefix", "A prefix needs a bucket.")
        if not self.errors and self._exists(data):
            raise forms.ValidationError("This assignment exists already.")
        return data

    def _exists(self, data) -> bool:
        owner = {"group": self.principal} if isinstance(self.principal, Group) else {"user": self.principal}
        return RoleAssignment.objects.filter(
            **owner,
            role=data.get("role"),
            endpoint=data.get("endpoint"),
            bucket=data.get("bucket", ""),
            prefix=data.get("prefix", ""),
        ).exists()


class GroupForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ["name"]


class GroupMemberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("username"), empty_label="Choose a user")

    def __init__(self, *args, group: Group, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.exclude(groups=group).order_by("username")
