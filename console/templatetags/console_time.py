"""``{{ when|ago }}``: "just now" under a minute (not "0 minutes ago"), else "3 hours ago"."""

from __future__ import annotations

from datetime import datetime

from django import template

from console import rows

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    return rows.ago(value)
