"""The console's URLs plus the floor page: a logged-in page that renders only the base layout.

Every page goal of issue 12 is a ratio to this page measured in the same run on the same stack
(middleware, session, user, navigation, the cached template loader). Only bench/settings.py names
this module, so the floor is never reachable in production.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.http import require_GET

from bench.common import FLOOR_PATH


@require_GET
def floor(request):
    return render(request, "bench/floor.html")


urlpatterns = [
    path(FLOOR_PATH.strip("/") + "/", floor, name="bench_floor"),
    path("", include("console.urls")),
]
