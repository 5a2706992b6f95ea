"""Console administration for single sign-on: the directory-group mapping, and lifting sign-in locks."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from console import access, audit, services
from console.directory_forms import DirectoryMappingForm
from console.models import DirectoryGroupMapping, DirectoryMembership, RoleAssignment


def _admin(request, action: str) -> audit.Actor:
    role = access.require_global_admin(request, action=action)
    return audit.Actor.from_request(request, role)


def _page(request, form, status: int = 200):
    mappings = DirectoryGroupMapping.objects.select_related("group").prefetch_related(
        Prefetch("group__role_assignments", queryset=RoleAssignment.objects.select_related("endpoint"))
    )
    memberships = list(DirectoryMembership.objects.filter(was_local=False).values("source", "directory_groups"))
    mappings = list(mappings)
    for mapping in mappings:  # people whose console group membership this mapping gave
        mapping.member_count = sum(
            1 for m in memberships if m["source"] == mapping.source and mapping.directory_group in m["directory_groups"]
        )
    context = {
        "mappings": mappings,
        "form": form,
        "oidc": {
            "enabled": settings.OIDC_ENABLED,
            "discovery": settings.OIDC_DISCOVERY_URL,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "groups_claim": settings.OIDC_GROUPS_CLAIM,
            "username_claim": settings.OIDC_USERNAME_CLAIM,
            "mfa_by_provider": settings.SSO_MFA_BY_PROVIDER,
        },
        "ldap": {
            "enabled": settings.LDAP_ENABLED,
            "uri": settings.LDAP_SERVER_URI,
            "group_type": settings.LDAP_GROUP_TYPE,
            "group_base": settings.LDAP_GROUP_SEARCH_BASE,
            "start_tls": settings.LDAP_START_TLS,
        },
        "sso_only": settings.SSO_ONLY,
        "break_glass": settings.SSO_BREAK_GLASS_USERS,
        "require_mapped": settings.SSO_REQUIRE_MAPPED_GROUP,
    }
    return render(request, "console/directory_mappings.html", context, status=status)


@require_GET
def mapping_list(request):
    access.require_global_admin(request, action="directory.mapping.list")
    return _page(request, DirectoryMappingForm())


@require_POST
def mapping_create(request):
    actor = _admin(request, "directory.mapping.add")
    form = DirectoryMappingForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    data = form.cleaned_data
    mapping = services.directory_mapping_add(
        actor=actor, source=data["source"], directory_group=data["directory_group"], group=data["group"]
    )
    messages.success(
        request,
        f"Members of “{mapping.directory_group}” get the group “{mapping.group.name}” from their next sign-in on.",
    )
    return redirect("directory_mappings")


@require_POST
def mapping_remove(request, pk: int):
    actor = _admin(request, "directory.mapping.remove")
    mapping = get_object_or_404(DirectoryGroupMapping.objects.select_related("group"), pk=pk)
    snapshot = services.directory_mapping_remove(actor=actor, mapping=mapping)
    messages.success(
        request,
        f"Mapping removed. Members of “{snapshot['directory_group']}” leave “{snapshot['group']}” "
        "at their next sign-in.",
    )
    return redirect("directory_mappings")


@require_POST
def lock_lift(request):
    """Lift a sign-in lock: of one name from one address, or of a whole address."""
    actor = _admin(request, "auth.lockout.lift")
    ip, username = request.POST.get("ip", "").strip(), request.POST.get("username", "")
    if not ip:
        messages.error(request, "Choose the lock to lift.")
        return redirect("user_list")
    services.lockout_lift(actor=actor, ip=ip, username=username)
    who = f"“{username}” from {ip}" if username else f"the address {ip}"
    messages.success(request, f"Lock of {who} lifted: they can sign in again.")
    return redirect("user_list")
