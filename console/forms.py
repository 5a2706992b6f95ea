from __future__ import annotations

import csv
import io

from django import forms

from buckets import s3, vocabulary
from console.models import Endpoint
from console.record_edits import SeenField


def parse_access_key_csv(text: str) -> tuple[str, str]:
    """The access-keys CSV the AWS IAM console hands out: 'Access key ID,Secret access key'."""
    rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise forms.ValidationError("The file has no key row: expected a header line and a line with the keys.")
    header = [h.strip().lower() for h in rows[0]]
    if "access key id" not in header or "secret access key" not in header:
        raise forms.ValidationError(
            "This is not an AWS access-keys CSV: it needs the columns 'Access key ID' and 'Secret access key'."
        )
    id_col, secret_col = header.index("access key id"), header.index("secret access key")
    row = rows[1]
    if len(row) <= max(id_col, secret_col) or not row[id_col].strip() or not row[secret_col].strip():
        raise forms.ValidationError("The key row of the CSV file is incomplete.")
    return row[id_col].strip(), row[secret_col].strip()


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="Endpoint URL",
        required=False,
        assume_scheme="https",
        help_text="Leave empty for Amazon S3; e.g. https://minio.example.com:9000",
    )
    secret_access_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the stored key.",
    )
    seen = SeenField()  # the endpoint as the form was opened: a save compares (console.record_edits)
    keys_csv = forms.FileField(
        label="…or the access-keys CSV file",
        required=False,
        help_text="The .csv file the AWS IAM console offers when it creates an access key.",
    )

    class Meta:
        model = Endpoint
        fields = list(Endpoint.EDITED)
        widgets = {"profile": forms.TextInput(attrs={"list": "aws-profiles"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiles = s3.available_profiles()
        self.fields["url"].widget.attrs["placeholder"] = "https://s3.example.com (empty for Amazon S3)"
        self.fields["profile"].help_text = (
            "Profiles found on this server: " + ", ".join(self.profiles)
            if self.profiles
            else "No profiles found in ~/.aws on this server."
        )

    def clean_storage_classes(self):
        names = [n.strip().upper() for n in self.cleaned_data["storage_classes"].split(",") if n.strip()]
        known = {name for name, _ in vocabulary.STORAGE_CLASSES}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise forms.ValidationError(f"Not an S3 storage class: {', '.join(unknown)}.")
        return ",".join(dict.fromkeys(names))

    def clean_profile(self):
        profile = self.cleaned_data["profile"].strip()
        if self.cleaned_data.get("credential_source") == Endpoint.CredentialSource.PROFILE:
            if not profile:
                raise forms.ValidationError("Choose the profile to use.")
            if profile not in self.profiles:
                raise forms.ValidationError(
                    f"There is no profile named '{profile}' in ~/.aws/credentials or ~/.aws/config."
                )
        return profile

    def clean(self):
        data = super().clean()
        if data.get("credential_source") != Endpoint.CredentialSource.KEYS:
            return data
        upload = data.get("keys_csv")
        if upload:
            if upload.size > 64 * 1024:
                self.add_error("keys_csv", "That file is too large for an access-keys CSV.")
                return data
            try:
                key_id, secret = parse_access_key_csv(upload.read().decode("utf-8", errors="replace"))
            except forms.ValidationError as exc:
                self.add_error("keys_csv", exc)
                return data
            data["access_key_id"], data["secret_access_key"] = key_id, secret
        if not data.get("access_key_id"):
            self.add_error("access_key_id", "Enter the access key id (or upload the CSV file).")
        if not data.get("secret_access_key") and not self.instance.has_secret:
            self.add_error("secret_access_key", "Enter the secret access key (or upload the CSV file).")
        return data

    def save(self, commit: bool = True) -> Endpoint:
        endpoint = super().save(commit=False)
        endpoint.access_key_id = self.cleaned_data.get("access_key_id", "")
        if endpoint.credential_source != Endpoint.CredentialSource.KEYS:
            endpoint.access_key_id = ""
            endpoint.set_secret_access_key("")
        elif self.cleaned_data.get("secret_access_key"):
            endpoint.set_secret_access_key(self.cleaned_data["secret_access_key"])
        if endpoint.credential_source != Endpoint.CredentialSource.PROFILE:
            endpoint.profile = ""
        if commit:
            endpoint.save()
        return endpoint
