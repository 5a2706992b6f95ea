from __future__ import annotations

from django.urls import resolve
from django.urls.exceptions import Resolver404

from console import access


def console(request) -> dict:
    """Navigation state: which section is active, whether console-admin links apply, whether copying does."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)  # the view's, when one was resolved: no second resolve
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
    section = (match.url_name if match else "") or ""
    return {
        "nav_section": section,
        "nav_is_admin": bool(user and user.is_authenticated and access.is_global_admin(user)),
        # Evaluated only by the templates that show a Copy action (object list and page).
        "can_copy": lambda: bool(user and access.writes_somewhere(user)),
    }
