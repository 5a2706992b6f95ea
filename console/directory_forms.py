"""The form of the directory-group mapping page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group

from console.models import DirectoryGroupMapping, DirectorySource


class DirectoryMappingForm(forms.Form):
    source = forms.ChoiceField(choices=DirectorySource.choices, initial=DirectorySource.OIDC)
    directory_group = forms.CharField(
        max_length=512,
        label="Directory group",
        help_text="OpenID: a value of the groups claim (Keycloak: /team-a; Entra ID: the group's object id). "
        "LDAP: the group's name (cn) or its whole DN.",
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), label="Console group", empty_label="Choose a console group"
    )

    def clean_directory_group(self) -> str:
        return self.cleaned_data["directory_group"].strip()

    def clean(self):
        data = super().clean()
        if (
            not self.errors
            and DirectoryGroupMapping.objects.filter(
                source=data["source"], directory_group=data["directory_group"], group=data["group"]
            ).exists()
        ):
            raise forms.ValidationError("This mapping exists already.")
        return data
