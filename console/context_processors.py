from __future__ import annotations

from django.urls import resolve
from django.urls.exceptions import Resolver404

from console import access


def console(request) -> dict:
    """Navigation state: which section is active, whether console-admin links apply, whether copying does."""
    user = getattr(request, "user", None)
    try:
        section = resolve(request.path_info).url_name or ""
    except Resolver404:
        section = ""
    return {
        "nav_section": section,
        "nav_is_admin": bool(user and user.is_authenticated and access.is_global_admin(user)),
        # Evaluated only by the templates that show a Copy action (object list and page).
        "can_copy": lambda: bool(user and access.writes_somewhere(user)),
    }
