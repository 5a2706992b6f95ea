"""Forms of the team pages: users, groups, role assignments, two-factor codes."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.db import models
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


def _password_rules() -> str:
    """The validators' rules as a list. Django escapes each rule and builds the <ul>: safe to render as HTML
    (the field template escapes help texts, which showed the tags as text)."""
    return mark_safe(password_validation.password_validators_help_text_html())  # noqa: S308


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
        self.fields["password1"].help_text = format_html(
            "{}<p>Leave both empty to hand out a one-time set-password link instead.</p>", _password_rules()
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
        self.fields["password1"].help_text = _password_rules()

    def clean(self):
        data = super().clean()
        data["password"] = self.check_passwords(self.user, required=True)
        return data


class Scope(models.TextChoices):
    EVERYTHING = "everything", "Everything: every endpoint and bucket, present and future"
    ENDPOINT = "endpoint", "One endpoint: all its buckets"
    BUCKET = "bucket", "One bucket"
    PREFIX = "prefix", "Keys under a prefix in one bucket"


SCOPE_NEEDS = {  # which of endpoint / bucket / prefix each scope takes
    Scope.EVERYTHING: (),
    Scope.ENDPOINT: ("endpoint",),
    Scope.BUCKET: ("endpoint", "bucket"),
    Scope.PREFIX: ("endpoint", "bucket", "prefix"),
}
FIELD_NAMES = {"endpoint": "an endpoint", "bucket": "a bucket", "prefix": "a prefix"}


class RoleAssignmentForm(forms.Form):
    """A role on a scope; the user or group it goes to comes from the page.

    The scope is a choice of its own, with no default: "everything" is never what an empty form means.
    The bucket is one the console knows on the endpoint; a name it does not know (not synced yet) needs
    ``unknown_bucket`` ticked, after the form said so.
    """

    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    scope = forms.ChoiceField(
        choices=Scope.choices,
        widget=forms.RadioSelect,
        label="On",
        error_messages={"required": "Choose what the role covers."},
    )
    endpoint = forms.ModelChoiceField(
        queryset=Endpoint.objects.order_by("name"), required=False, empty_label="Choose an endpoint"
    )
    bucket = forms.CharField(
        required=False,
        max_length=63,
        widget=forms.TextInput(attrs={"list": "role-known-buckets", "autocomplete": "off", "spellcheck": "false"}),
        help_text="Pick one of the endpoint's known buckets, or type a name.",
    )
    prefix = forms.CharField(required=False, max_length=1024, strip=False, help_text="E.g. team-a/")
    unknown_bucket = forms.BooleanField(
        required=False, label="This bucket exists: give the role although the console has not synced it yet"
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
        scope = data.get("scope")
        if scope is None:
            return data
        needs = SCOPE_NEEDS[Scope(scope)]
        for name in ("endpoint", "bucket", "prefix"):
            if name in self.errors:
                continue
            given = data.get(name) not in (None, "")
            if name in needs and not given:
                self.add_error(name, f"Choose {FIELD_NAMES[name]}: the role is on “{Scope(scope).label}”.")
            elif given and name not in needs:
                self.add_error(name, f"Leave this empty for “{Scope(scope).label}”, or choose another scope.")
        for name in ("endpoint", "bucket", "prefix"):  # what the scope does not take is not saved
            if name not in needs:
                data[name] = None if name == "endpoint" else ""
        if "bucket" in needs and not self.errors:
            self._check_bucket(data["endpoint"], data["bucket"], data.get("unknown_bucket"))
        if not self.errors and self._exists(data):
            raise forms.ValidationError("This assignment exists already.")
        return data

    def _check_bucket(self, endpoint: Endpoint, bucket: str, confirmed: bool) -> None:
        if endpoint.buckets.filter(name=bucket).exists():
            return
        errors = vocabulary.bucket_name_errors(bucket)
        for error in errors:
            self.add_error("bucket", error)
        if not errors and not confirmed:
            self.unknown = True
            self.add_error(
                "bucket",
                f"The console knows no bucket “{bucket}” on {endpoint.name}. Check the name, sync the endpoint's "
                "buckets, or tick the box below if it exists and is not synced yet.",
            )

    unknown = False  # the bucket is a valid name the console does not know: the form offers the box

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
