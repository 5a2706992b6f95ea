"""Changes to the console's own records: endpoints, users, groups, role assignments, directory
mappings, sign-in locks and authenticators.

Each is one keyword-only function ``<entity>_<action>(*, actor, ...)`` that does its work inside
``audit.change``, so the audit row is written whatever happens. Views check access, validate a form
and call one of these; they never write these records or the audit trail themselves
(``tests/test_architecture.py``). Nothing secret goes into an event (no password, no token, no key).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from buckets import s3
from console import audit, lockout, record_edits
from console.models import (
    DirectoryGroupMapping,
    DirectoryMembership,
    Endpoint,
    ExternalIdentity,
    Profile,
    RoleAssignment,
)

User = get_user_model()


def _user_snapshot(user) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "login_ready": user.has_usable_password(),  # (a key with "password" in it would be scrubbed)
    }


def _assignment_snapshot(a: RoleAssignment) -> dict:
    principal = f"user:{a.user.username}" if a.user_id else f"group:{a.group.name}"
    return {"principal": principal, "role": a.role, "scope": a.scope_label}


def _endpoint_snapshot(endpoint: Endpoint) -> dict:
    """What the audit trail keeps of an endpoint: its settings, never its secret."""
    key_id = endpoint.access_key_id
    return {
        "name": endpoint.name,
        "url": endpoint.url,
        "region": endpoint.region,
        "addressing_style": endpoint.addressing_style,
        "verify_tls": endpoint.verify_tls,
        "credential_source": endpoint.credential_source,
        "profile": endpoint.profile,
        "access_key_id": f"…{key_id[-4:]}" if key_id else "",
        "has_secret": endpoint.has_secret,
    }


def _mapping_snapshot(mapping: DirectoryGroupMapping) -> dict:
    return {"source": mapping.source, "directory_group": mapping.directory_group, "group": mapping.group.name}


# --- endpoints ---------------------------------------------------------------------------------


def endpoint_create(*, actor: audit.Actor, endpoint: Endpoint) -> Endpoint:
    """Save a new endpoint (``endpoint``: the unsaved record ``EndpointForm.save(commit=False)`` built)."""
    with audit.change(actor, "endpoint.create", params={"name": endpoint.name}) as ev:
        endpoint.save()
        ev.after = _endpoint_snapshot(endpoint)
    return endpoint


def endpoint_update(*, actor: audit.Actor, endpoint: Endpoint, seen: str = "") -> Endpoint:
    """Save an edited endpoint unless someone saved it since ``seen`` (``record_edits.ChangedMeanwhile``);
    the event's "before" is the stored row, read again here under a row lock."""
    with record_edits.refusal_audited(actor, "endpoint.edit", endpoint=endpoint), transaction.atomic():
        stored = record_edits.locked_unchanged(Endpoint, endpoint.pk, seen, record_edits.endpoint_state)
        with audit.change(actor, "endpoint.edit", endpoint=endpoint, before=_endpoint_snapshot(stored)) as ev:
            endpoint.save()
            ev.after = _endpoint_snapshot(endpoint)
    s3.forget_client(endpoint)  # new settings or credentials: a new client
    return endpoint


def endpoint_delete(*, actor: audit.Actor, endpoint: Endpoint) -> None:
    """Remove the endpoint from the console (its bucket records and role assignments go with it). No S3 call."""
    with audit.change(actor, "endpoint.delete", endpoint=endpoint, before=_endpoint_snapshot(endpoint)):
        s3.forget_client(endpoint)
        endpoint.delete()


# --- users ------------------------------------------------------------------------------------


def user_create(*, actor: audit.Actor, username: str, email: str, first_name: str, last_name: str, password: str):
    """A new user; without a password, one who cannot log in until given a set-password link."""
    with audit.change(actor, "user.create", params={"username": username}) as ev:
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        ev.after = _user_snapshot(user)
    return user


def user_set_active(*, actor: audit.Actor, user, active: bool) -> None:
    """Deactivate (they cannot log in; their sessions end) or reactivate a user."""
    action = "user.reactivate" if active else "user.deactivate"
    with audit.change(actor, action, params={"username": user.username}, before=_user_snapshot(user)) as ev:
        user.is_active = active
        user.save(update_fields=["is_active"])
        ev.after = _user_snapshot(user)


def user_password_set(*, actor: audit.Actor, user, password: str, via: str, user_agent: str) -> None:
    """A new password, set by an admin (``via="admin"``) or by the user through a link (``via="link"``)."""
    with audit.change(
        actor, "auth.password.change", params={"username": user.username, "via": via, "user_agent": user_agent}
    ):
        user.set_password(password)
        user.save(update_fields=["password"])


def user_password_link_create(*, actor: audit.Actor, user) -> tuple[str, timezone.datetime]:
    """A one-time set-password link (its path) and when it expires; the token itself is never recorded."""
    valid_for = timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    with audit.change(
        actor, "user.password_link.create", params={"username": user.username, "valid_hours": valid_for / 3600}
    ):
        path = reverse(
            "set_password_link",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    return path, timezone.now() + valid_for


def user_otp_require(*, actor: audit.Actor, user, required: bool) -> None:
    profile = Profile.for_user(user)
    with audit.change(
        actor, "user.otp.require", params={"username": user.username}, before={"required": profile.otp_required}
    ) as ev:
        profile.otp_required = required
        profile.save(update_fields=["otp_required"])
        ev.after = {"required": required}


def user_otp_reset(*, actor: audit.Actor, user) -> int:
    """For a lost phone: remove the user's authenticators. How many were removed."""
    with audit.change(actor, "user.otp.reset", params={"username": user.username}):
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted


# --- one's own authenticator --------------------------------------------------------------------


def otp_device_confirm(*, actor: audit.Actor, device: TOTPDevice, user_agent: str) -> None:
    """Two-factor on: the enrolling device answered with a right code."""
    params = {"username": device.user.username, "user_agent": user_agent}
    with audit.change(actor, "auth.otp.setup", params=params):
        device.confirmed = True
        device.save(update_fields=["confirmed"])


def otp_devices_remove(*, actor: audit.Actor, user, user_agent: str) -> None:
    """Two-factor off for one's own account."""
    with audit.change(actor, "auth.otp.disable", params={"username": user.username, "user_agent": user_agent}):
        TOTPDevice.objects.filter(user=user).delete()


# --- role assignments ----------------------------------------------------------------------------


def role_assign(
    *, actor: audit.Actor, principal, role: str, endpoint: Endpoint | None, bucket: str, prefix: str
) -> RoleAssignment:
    """Give ``role`` on a scope to a user or a group (``principal``)."""
    owner = {"group": principal} if isinstance(principal, Group) else {"user": principal}
    with audit.change(actor, "role.assign", endpoint=endpoint, bucket=bucket, key=prefix) as ev:
        assignment = RoleAssignment.objects.create(**owner, role=role, endpoint=endpoint, bucket=bucket, prefix=prefix)
        ev.after = _assignment_snapshot(assignment)
    return assignment


def role_remove(*, actor: audit.Actor, assignment: RoleAssignment) -> dict:
    """Take a role assignment away; what it was (principal, role, scope)."""
    snapshot = _assignment_snapshot(assignment)
    where = {"endpoint": assignment.endpoint, "bucket": assignment.bucket, "key": assignment.prefix}
    with audit.change(actor, "role.remove", before=snapshot, **where):
        assignment.delete()
    return snapshot


# --- groups -------------------------------------------------------------------------------------


def group_create(*, actor: audit.Actor, name: str) -> Group:
    with audit.change(actor, "group.create", params={"name": name}):
        return Group.objects.create(name=name)


def group_delete(*, actor: audit.Actor, group: Group) -> None:
    """Delete a group; its role assignments go with it."""
    before = {"name": group.name, "members": list(group.user_set.values_list("username", flat=True))}
    with audit.change(actor, "group.delete", params={"name": group.name}, before=before):
        group.delete()


def group_member_add(*, actor: audit.Actor, group: Group, user) -> None:
    with audit.change(actor, "group.member.add", params={"group": group.name, "username": user.username}):
        group.user_set.add(user)


def group_member_remove(*, actor: audit.Actor, group: Group, user) -> None:
    """By hand: the directory will not give the membership back on its own record of it."""
    with audit.change(actor, "group.member.remove", params={"group": group.name, "username": user.username}):
        group.user_set.remove(user)
        DirectoryMembership.objects.filter(user=user, group=group).delete()


# --- single sign-on --------------------------------------------------------------------------------


def directory_mapping_add(*, actor: audit.Actor, source: str, directory_group: str, group: Group):
    """Members of ``directory_group`` get the console ``group`` from their next sign-in on."""
    with audit.change(actor, "directory.mapping.add") as ev:
        mapping = DirectoryGroupMapping.objects.create(source=source, directory_group=directory_group, group=group)
        ev.after = _mapping_snapshot(mapping)
    return mapping


def directory_mapping_remove(*, actor: audit.Actor, mapping: DirectoryGroupMapping) -> dict:
    snapshot = _mapping_snapshot(mapping)
    with audit.change(actor, "directory.mapping.remove", before=snapshot):
        mapping.delete()
    return snapshot


# --- what a sign-in through single sign-on changes (console.sso works out what; these write it) ----------


def sso_user_create(*, actor: audit.Actor, identity, directory_groups: list[str], params: dict) -> User:
    """The account of an identity signing in for the first time (just in time), named ``actor.username``.

    No password: it signs in through its provider or directory only. ``identity``: a ``console.sso.Identity``.
    """
    with audit.change(actor, "auth.user.created", params=params) as ev:
        with transaction.atomic():
            user = User.objects.create_user(
                actor.username,
                email=identity.email,
                first_name=identity.first_name[:150],
                last_name=identity.last_name[:150],
            )
            ExternalIdentity.objects.create(
                user=user,
                source=identity.source,
                issuer=identity.issuer,
                subject=identity.subject,
                directory_groups=directory_groups,
                last_sign_in=timezone.now(),
            )
        ev.after = {**_user_snapshot(user), "user_id": user.pk}
    return user


def sso_user_refresh(*, actor: audit.Actor, user, fields: dict, params: dict) -> None:
    """Name and e-mail as the provider or directory gives them now (``fields``: only those that changed)."""
    before = {name: getattr(user, name) for name in fields}
    with audit.change(actor, "auth.user.refreshed", params=params, before=before) as ev:
        for name, value in fields.items():
            setattr(user, name, value)
        user.save(update_fields=list(fields))
        ev.after = dict(fields)


def directory_memberships_apply(
    *, actor: audit.Actor, user, source: str, give: dict, renew: dict, take: list, params: dict
) -> dict:
    """The console groups a sign-in's directory groups give (``console.sso.apply_directory_groups`` plans it).

    ``give``: console group -> the directory groups behind it, for a group the directory names now;
    ``renew``: membership -> the directory groups now behind it; ``take``: memberships the directory no
    longer names. A membership the user held before the directory named it (``was_local``) is theirs:
    the directory never takes it away.
    """
    with audit.change(actor, "auth.groups.changed", params=params) as ev:
        added, removed = [], []
        with transaction.atomic():
            current = set(user.groups.values_list("pk", flat=True))
            for group, names in give.items():
                was_local = group.pk in current
                DirectoryMembership.objects.create(
                    user=user, group=group, source=source, directory_groups=names, was_local=was_local
                )
                if not was_local:
                    user.groups.add(group)
                    added.append(group.name)
            for membership, names in renew.items():
                membership.directory_groups = names
                membership.save(update_fields=["directory_groups", "updated_at"])
            for membership in take:
                if not membership.was_local:
                    user.groups.remove(membership.group_id)
                    removed.append(membership.group.name)
                membership.delete()
        ev.params.update(added=sorted(added), removed=sorted(removed))
        ev.after = sorted(user.groups.values_list("name", flat=True))
    return {"added": sorted(added), "removed": sorted(removed)}


def lockout_lift(*, actor: audit.Actor, ip: str, username: str) -> int:
    """Lift a sign-in lock: of one name from one address (``username``), or of the whole address."""
    with audit.change(actor, "auth.lockout.lift", params={"ip": ip, "username": username}) as ev:
        removed = lockout.lift(ip=ip, username=username)
        ev.after = {"attempts_removed": removed}
    return removed
