"""Sizes, one convention everywhere: binary steps of 1,024, labelled as such (KiB, MiB, GiB…), one decimal.

Templates use the ``size`` filter (``{% load console_size %}``), Python ``human_size``, and the upload
panel ``static/console/upload/format.js`` (the same steps and labels); Django's ``filesizeformat`` (1,024
steps labelled "KB") is not used.
"""

from __future__ import annotations

UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int | None) -> str:
    """1,536 → '1.5 KiB'; 1 → '1 byte'; None → ''."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    value = float(size)
    for unit in UNITS:
        value /= 1024
        if value < 1024 or unit == UNITS[-1]:
            return f"{value:.1f} {unit}"
    return ""
