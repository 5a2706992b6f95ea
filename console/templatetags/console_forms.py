"""Forms in templates: ``form|fields:"name url region"`` for ``console/_fields.html``."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def fields(form, names: str) -> list:
    """The form's bound fields of these names (space-separated), in that order."""
    return [form[name] for name in names.split()]
