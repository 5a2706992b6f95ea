"""The URLs of a page's inline sections (buckets/views/sections.py), the same on the bucket and the object page."""

from django.urls import path

from buckets.views import sections


def section_patterns(route: str, page: str, name: str) -> list:
    """Show, edit, save, remove and recheck a section of ``page`` at ``<route><slug>/...``, named ``name[_verb]``."""
    kwargs = {"page": page}
    return [
        path(f"{route}<slug:slug>/", sections.section_show, kwargs, name=name),
        *(
            path(f"{route}<slug:slug>/{verb}/", getattr(sections, f"section_{verb}"), kwargs, name=f"{name}_{verb}")
            for verb in ("edit", "save", "remove", "recheck")
        ),
    ]
