"""One convention for errors of htmx requests.

htmx 2 swaps 4xx responses too (``responseHandling`` in base.html): a form that fails
validation answers 422 and is swapped in place. Everything else that goes wrong in an
htmx request — denied, not found, an S3 error nobody caught — becomes a message in
the page's flash area (``#flash``) instead of a swapped error page. An expired
session sends the browser to the login page, coming back to where the user was.
A plain request with an uncaught S3Error gets an error page with the reason, never a 500.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import reverse

from buckets import s3
from buckets.s3 import S3Error
from console.errors import NotFound, wants_json


class HtmxErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if wants_json(request) and not response.get("Content-Type", "").startswith("application/json"):
            return _as_json(response)
        if getattr(request, "htmx", False) and response.status_code == 302:
            login_url = resolve_url(settings.LOGIN_URL)
            if response.get("Location", "").startswith(login_url):
                page = request.htmx.current_url_abs_path or "/"
                redirect = HttpResponse(status=200)
                redirect["HX-Redirect"] = f"{login_url}?{urlencode({'next': page})}"
                return redirect
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            status, level, text = 403, "error", str(exception) or "You are not allowed to do this."
        elif isinstance(exception, Http404):
            reason = str(exception) if isinstance(exception, NotFound) else ""
            status, level, text = 404, "error", reason or "Not found, or not visible to you."
        elif isinstance(exception, S3Error):
            status, level, text = 504 if exception.timed_out else 502, "error", exception.user_message
        else:
            return None
        if getattr(request, "htmx", False):
            html = render_to_string("console/_flash_message.html", {"level": level, "text": text}, request=request)
            response = HttpResponse(html, status=status)
            response["HX-Retarget"] = "#flash"
            response["HX-Reswap"] = "beforeend"
            return response
        if isinstance(exception, S3Error):
            html = render_to_string("console/s3_error.html", {"error": exception}, request=request)
            return HttpResponse(html, status=status)
        return None


def _as_json(response):
    """A request that sent JSON (the upload script) reads JSON back, whatever answered it: a sign-in redirect
    (an expired session, a second factor to give) becomes 401, any other error its status with a sentence."""
    if response.status_code in (301, 302, 303):
        signing_in = (resolve_url(settings.LOGIN_URL), reverse("otp_verify"), reverse("otp_setup"))
        if not response.get("Location", "").startswith(signing_in):
            return response
        text = "Your session has expired (or needs its second factor): reload the page and sign in again."
        return JsonResponse({"error": text}, status=401)
    if response.status_code < 400:
        return response
    return JsonResponse(
        {"error": f"The console refused this request ({response.reason_phrase})."}, status=response.status_code
    )


class SessionIdleTimeoutMiddleware:
    """Slide a logged-in session's expiry forward, at most once every SESSION_TOUCH_INTERVAL seconds.

    SESSION_SAVE_EVERY_REQUEST would do the same with a database write on every request; an idle
    timeout of hours does not need that precision.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session, user = getattr(request, "session", None), getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            if now - session.get("_touched", 0) >= settings.SESSION_TOUCH_INTERVAL:
                session["_touched"] = now  # marks the session modified: saved with a new expiry date
        return response


class S3TimeBudgetMiddleware:
    """Every page and partial waits at most S3_PAGE_BUDGET seconds for S3 in all (see buckets.s3.client).

    A hung endpoint then shows "the endpoint did not answer within N s" where the content would be,
    long before gunicorn's worker timeout turns the request into a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with s3.time_budget(settings.S3_PAGE_BUDGET):
            return self.get_response(request)
