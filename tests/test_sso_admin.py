"""The admin side of single sign-on: the directory-group mapping page, and what the group page shows."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.urls import reverse

from console.models import AuditEvent, DirectoryGroupMapping, DirectoryMembership, Role, RoleAssignment


def test_admin_maps_and_unmaps_a_directory_group(admin_client, db):
    group = Group.objects.create(name="platform")
    RoleAssignment.objects.create(group=group, role=Role.OPERATOR)
    page = admin_client.get(reverse("directory_mappings")).text
    assert "No directory group is mapped yet" in page and "Not configured (OIDC_DISCOVERY_URL)" in page

    data = {"source": "ldap", "directory_group": "  cn=platform,ou=groups,dc=example,dc=org ", "group": group.pk}
    response = admin_client.post(reverse("directory_mapping_create"), data, follow=True)
    assert "get the group “platform” from their next sign-in on" in response.text
    assert "Operator on everything" in response.text, "the mapping page shows the roles the group gives"
    mapping = DirectoryGroupMapping.objects.get()
    assert mapping.directory_group == "cn=platform,ou=groups,dc=example,dc=org"
    event = AuditEvent.objects.get(action="directory.mapping.add")
    assert event.actor_name == "alice" and event.after["group"] == "platform"

    again = admin_client.post(reverse("directory_mapping_create"), data)
    assert again.status_code == 422 and "This mapping exists already" in again.text
    empty = admin_client.post(reverse("directory_mapping_create"), {"source": "oidc"})
    assert empty.status_code == 422 and DirectoryGroupMapping.objects.count() == 1

    admin_client.post(reverse("directory_mapping_remove", args=[mapping.pk]))
    assert not DirectoryGroupMapping.objects.exists()
    assert AuditEvent.objects.get(action="directory.mapping.remove").before["source"] == "ldap"


def test_the_group_page_marks_members_the_directory_gave(admin_client, django_user_model):
    group = Group.objects.create(name="platform")
    DirectoryGroupMapping.objects.create(source="oidc", directory_group="/platform", group=group)
    ada, bob = django_user_model.objects.create_user("ada"), django_user_model.objects.create_user("bob")
    group.user_set.add(ada, bob)
    DirectoryMembership.objects.create(user=ada, group=group, source="oidc", directory_groups=["/platform"])
    page = admin_client.get(reverse("group_detail", args=[group.pk])).text
    assert "from directory: /platform" in page and page.count("from directory:") == 1
    assert "Single sign-on adds the members of <code>/platform</code>" in page
    # Removing by hand also forgets that the directory gave it (the next sign-in gives it again).
    admin_client.post(reverse("group_member_remove", args=[group.pk, ada.pk]))
    assert not DirectoryMembership.objects.exists()
