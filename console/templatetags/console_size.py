"""``{{ value|size }}``: a size in the console's one convention (console/sizes.py), kept on one line."""

from __future__ import annotations

from django import template
from django.utils.html import avoid_wrapping

from console.sizes import human_size

register = template.Library()


@register.filter
def size(value) -> str:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    return avoid_wrapping(human_size(number))
