"""Browsing and the object page: the key travels in the query string (``?key=``), never in the path."""

from django.urls import path

from buckets.urls.sections import section_patterns
from buckets.views import browse, folders, objects

urlpatterns = [
    path("objects/", browse.object_list, name="object_list"),
    path("folder/create/", folders.folder_create, name="folder_create"),
    path("object/", objects.object_detail, name="object_detail"),
    path("object/download/", objects.object_download, name="object_download"),
    path("object/share/", objects.object_share, name="object_share"),
    *section_patterns("object/section/", "object", "object_section"),
]
