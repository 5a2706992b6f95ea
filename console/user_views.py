"""Team administration: users, groups, role assignments, set-password links, who has access to a bucket.

Everything here but the bucket-access page needs the admin role on everything; every change is audited
(never with a password or a token in its parameters).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm as DjangoSetPasswordForm
from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from buckets.models import Bucket
from console import access, audit, lockout, role_views, security, services, sso
from console.models import DirectoryMembership, Endpoint, ExternalIdentity, Profile, Role, RoleAssignment
from console.user_forms import GroupForm, GroupMemberForm, RoleAssignmentForm, SetPasswordForm, UserCreateForm

User = get_user_model()


def _admin(request, action: str) -> audit.Actor:
    role = access.require_global_admin(request, action=action)
    return audit.Actor.from_request(request, role)


# --- users -----------------------------------------------------------------------------------


@require_GET
def user_list(request):
    access.require_global_admin(request, action="user.list")
    users = (
        User.objects.order_by("username")
        .select_related("console_profile")
        .prefetch_related("role_assignments__endpoint", "groups")
        .annotate(otp_devices=Count("totpdevice"))
    )
    groups = Group.objects.order_by("name").annotate(member_count=Count("user"))
    sources = dict(ExternalIdentity.objects.values_list("user_id", "source"))
    users = list(users)
    for u in users:
        u.sso_source = ExternalIdentity(source=sources[u.pk]).get_source_display() if u.pk in sources else ""
    context = {"users": users, "groups": groups, "locks": lockout.current_locks()}
    return render(request, "console/user_list.html", context)


@require_http_methods(["GET", "POST"])
def user_create(request):
    actor = _admin(request, "user.create")
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = ("username", "email", "first_name", "last_name", "password")
        user = services.user_create(actor=actor, **{name: form.cleaned_data[name] for name in fields})
        messages.success(request, f"User “{user.username}” created. Give them a role below.")
        return redirect("user_detail", pk=user.pk)
    return render(request, "console/user_form.html", {"form": form, "noun": "user"}, status=422 if form.errors else 200)


def _roles_context(principal, extra: dict) -> dict:
    """The roles part of a user's or a group's page (and ``extra``, which replaces a form with errors)."""
    assignments = principal.role_assignments.select_related("endpoint")
    return {
        "assignments": assignments.order_by("endpoint__name", "bucket", "prefix"),
        "role_form": RoleAssignmentForm(principal=principal),
        **extra,
        "role_scope": role_views.form_preview(extra.get("role_form") or RoleAssignmentForm()),
    }


def _user_context(user, **extra) -> dict:
    groups = user.groups.prefetch_related(
        Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("endpoint"))
    )
    profile = Profile.objects.filter(user=user).first()
    return {
        "target": user,
        "groups": groups,
        "otp_enrolled": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "otp_required_user": bool(profile and profile.otp_required),
        "otp_required_all": settings.OTP_REQUIRED_FOR_ALL,
        "password_form": SetPasswordForm(user),
        "role_sources": sso.role_sources(user),
        "identities": ExternalIdentity.objects.filter(user=user),
        **_roles_context(user, extra),
    }


@require_GET
def user_detail(request, pk: int):
    access.require_global_admin(request, action="user.view")
    user = get_object_or_404(User, pk=pk)
    return render(request, "console/user_detail.html", _user_context(user))


def _set_active(request, pk: int, active: bool):
    action = "user.reactivate" if active else "user.deactivate"
    actor = _admin(request, action)
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate your own account.")
        return redirect("user_detail", pk=pk)
    services.user_set_active(actor=actor, user=user, active=active)
    state = "active again" if active else "deactivated: they cannot log in, and their sessions end"
    messages.success(request, f"User “{user.username}” is {state}.")
    return redirect("user_detail", pk=pk)


@require_POST
def user_deactivate(request, pk: int):
    return _set_active(request, pk, active=False)


@require_POST
def user_reactivate(request, pk: int):
    return _set_active(request, pk, active=True)


@require_POST
def user_set_password(request, pk: int):
    actor = _admin(request, "auth.password.change")
    user = get_object_or_404(User, pk=pk)
    form = SetPasswordForm(user, request.POST)
    if not form.is_valid():
        context = _user_context(user, password_form=form)
        return render(request, "console/user_detail.html", context, status=422)
    services.user_password_set(
        actor=actor, user=user, password=form.cleaned_data["password"], via="admin", user_agent=sso.user_agent(request)
    )
    messages.success(request, f"Password of “{user.username}” set. Their open sessions have ended.")
    return redirect("user_detail", pk=pk)


@require_POST
def user_password_link(request, pk: int):
    actor = _admin(request, "user.password_link.create")
    user = get_object_or_404(User, pk=pk)
    if not user.is_active:
        messages.error(request, "Reactivate the user first: an inactive user cannot log in.")
        return redirect("user_detail", pk=pk)
    path, expires = services.user_password_link_create(actor=actor, user=user)
    context = {"target": user, "link": request.build_absolute_uri(path), "expires": expires}
    return render(request, "console/user_password_link.html", context)


@require_POST
def user_otp_require(request, pk: int):
    actor = _admin(request, "user.otp.require")
    user = get_object_or_404(User, pk=pk)
    required = request.POST.get("required") == "1"
    services.user_otp_require(actor=actor, user=user, required=required)
    text = "must use two-factor from their next login on" if required else "no longer must use two-factor"
    messages.success(request, f"“{user.username}” {text}.")
    return redirect("user_detail", pk=pk)


@require_POST
def user_otp_reset(request, pk: int):
    """For a lost phone: remove the user's authenticator; they enrol again at their next login if required."""
    actor = _admin(request, "user.otp.reset")
    user = get_object_or_404(User, pk=pk)
    deleted = services.user_otp_reset(actor=actor, user=user)
    messages.success(
        request, f"Authenticator of “{user.username}” removed." if deleted else "No authenticator to remove."
    )
    return redirect("user_detail", pk=pk)


# --- role assignments ----------------------------------------------------------------------


def _assign(request, actor: audit.Actor, principal, page: str, render_page):
    form = RoleAssignmentForm(request.POST, principal=principal)
    if not form.is_valid():
        return render_page(form)
    data = form.cleaned_data
    assignment = services.role_assign(
        actor=actor,
        principal=principal,
        role=data["role"],
        endpoint=data["endpoint"],
        bucket=data["bucket"],
        prefix=data["prefix"],
    )
    messages.success(request, f"{assignment} given.")
    return redirect(page, pk=principal.pk)


@require_POST
def user_role_assign(request, pk: int):
    actor = _admin(request, "role.assign")  # before the lookup: non-admins cannot probe which ids exist
    user = get_object_or_404(User, pk=pk)

    def render_page(form):
        return render(request, "console/user_detail.html", _user_context(user, role_form=form), status=422)

    return _assign(request, actor, user, "user_detail", render_page)


@require_POST
def role_remove(request, pk: int):
    actor = _admin(request, "role.remove")
    assignment = get_object_or_404(RoleAssignment.objects.select_related("user", "group", "endpoint"), pk=pk)
    snapshot = services.role_remove(actor=actor, assignment=assignment)
    messages.success(request, f"{snapshot['role'].capitalize()} on {snapshot['scope']} removed.")
    if assignment.group_id:
        return redirect("group_detail", pk=assignment.group_id)
    return redirect("user_detail", pk=assignment.user_id)


# --- groups --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def group_create(request):
    actor = _admin(request, "group.create")
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = services.group_create(actor=actor, name=form.cleaned_data["name"])
        messages.success(request, f"Group “{group.name}” created. Add members and roles below.")
        return redirect("group_detail", pk=group.pk)
    return render(
        request, "console/user_form.html", {"form": form, "noun": "group"}, status=422 if form.errors else 200
    )


def _group_context(group, **extra) -> dict:
    members = list(group.user_set.order_by("username"))
    given = {m.user_id: m for m in DirectoryMembership.objects.filter(group=group, was_local=False)}
    for member in members:  # a membership that single sign-on gave (the next sign-in may take it away)
        membership = given.get(member.pk)
        member.from_directory = ", ".join(membership.directory_groups) if membership else ""
    return {
        "group": group,
        "members": members,
        "mappings": group.directory_mappings.all(),
        "member_form": GroupMemberForm(group=group),
        **_roles_context(group, extra),
    }


@require_GET
def group_detail(request, pk: int):
    access.require_global_admin(request, action="group.view")
    group = get_object_or_404(Group, pk=pk)
    return render(request, "console/user_group_detail.html", _group_context(group))


@require_POST
def group_delete(request, pk: int):
    actor = _admin(request, "group.delete")
    group = get_object_or_404(Group, pk=pk)
    name = group.name
    services.group_delete(actor=actor, group=group)
    messages.success(request, f"Group “{name}” deleted, with its role assignments.")
    return redirect("user_list")


@require_POST
def group_member_add(request, pk: int):
    actor = _admin(request, "group.member.add")
    group = get_object_or_404(Group, pk=pk)
    form = GroupMemberForm(request.POST, group=group)
    if not form.is_valid():
        return render(request, "console/user_group_detail.html", _group_context(group, member_form=form), status=422)
    user = form.cleaned_data["user"]
    services.group_member_add(actor=actor, group=group, user=user)
    messages.success(request, f"“{user.username}” added to “{group.name}”.")
    return redirect("group_detail", pk=pk)


@require_POST
def group_member_remove(request, pk: int, user_pk: int):
    actor = _admin(request, "group.member.remove")
    group = get_object_or_404(Group, pk=pk)
    user = get_object_or_404(group.user_set, pk=user_pk)
    services.group_member_remove(actor=actor, group=group, user=user)
    messages.success(request, f"“{user.username}” removed from “{group.name}”.")
    return redirect("group_detail", pk=pk)


@require_POST
def group_role_assign(request, pk: int):
    actor = _admin(request, "role.assign")
    group = get_object_or_404(Group, pk=pk)

    def render_page(form):
        context = _group_context(group, role_form=form)
        return render(request, "console/user_group_detail.html", context, status=422)

    return _assign(request, actor, group, "group_detail", render_page)


# --- who has access to a bucket -------------------------------------------------------------


@require_GET
def bucket_access(request, endpoint_pk: int, bucket: str):
    """Every user and group with a role on this bucket, and the assignment it comes from."""
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    access.require_role(request, Role.ADMIN, action="bucket.access.view", endpoint=endpoint, bucket=bucket)
    context = {
        "endpoint": endpoint,
        "bucket": bucket,
        "known": Bucket.objects.filter(endpoint=endpoint, name=bucket).exists(),
        "grants": access.bucket_grants(endpoint, bucket),
        "is_global_admin": access.is_global_admin(request.user),
    }
    return render(request, "console/access_bucket.html", context)


# --- the one-time set-password link (no login needed) -----------------------------------------


class SetPasswordLinkView(auth_views.PasswordResetConfirmView):
    """Opened by the user the admin gave the link to. Django's token dies once the password changes."""

    template_name = "console/user_set_password_link.html"
    form_class = DjangoSetPasswordForm
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form):
        user = form.user
        actor = audit.Actor(user_id=user.pk, username=user.username, ip=audit.client_ip(self.request))
        password = form.cleaned_data["new_password1"]
        services.user_password_set(
            actor=actor, user=user, password=password, via="link", user_agent=sso.user_agent(self.request)
        )
        # What Django's form_valid does after form.save(): the link's session token is spent.
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        self.request.session.pop(security.SESSION_KEY, None)
        response = HttpResponseRedirect(self.get_success_url())
        messages.success(self.request, "Your password is set. Log in with it now.")
        return response
