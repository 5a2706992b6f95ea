"""Browsing and the object page: the key travels in the query string (``?key=``), never in the path."""

from django.urls import path

from buckets.views import browse, folders, objects, sections

page = {"page": "object"}

urlpatterns = [
    path("objects/", browse.object_list, name="object_list"),
    path("folder/create/", folders.folder_create, name="folder_create"),
    path("object/", objects.object_detail, name="object_detail"),
    path("object/download/", objects.object_download, name="object_download"),
    path("object/share/", objects.object_share, name="object_share"),
    path("object/section/<slug:slug>/", sections.section_show, page, name="object_section"),
    path("object/section/<slug:slug>/edit/", sections.section_edit, page, name="object_section_edit"),
    path("object/section/<slug:slug>/save/", sections.section_save, page, name="object_section_save"),
    path("object/section/<slug:slug>/remove/", sections.section_remove, page, name="object_section_remove"),
    path("object/section/<slug:slug>/recheck/", sections.section_recheck, page, name="object_section_recheck"),
]
