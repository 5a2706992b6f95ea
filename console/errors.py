"""Error answers that must fit the request: JSON for the upload script's endpoints, HTML for pages."""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.csrf import csrf_failure as html_csrf_failure


def wants_json(request) -> bool:
    return request.content_type == "application/json" or request.content_type == "application/octet-stream"


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: the upload steps send JSON (or raw part bytes) and read JSON back, errors too."""
    if wants_json(request):
        return JsonResponse({"error": f"The request was refused (CSRF: {reason}). Reload the page."}, status=403)
    return html_csrf_failure(request, reason=reason)


class NotFound(Http404):
    """A 404 whose message is written for the user: the 404 page shows it (a plain Http404's is not shown)."""


def page_not_found(request, exception=None):
    """handler404: the message of a NotFound, where the user was looking; nothing of any other 404."""
    message = str(exception) if isinstance(exception, NotFound) else ""
    return render(request, "404.html", {"message": message}, status=404)
