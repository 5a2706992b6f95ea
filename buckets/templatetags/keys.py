"""``{{ key|key_b64 }}``: an object key for a form value (see buckets.views.common.key_param)."""

from django import template

from buckets.forms.transfer import encode_key

register = template.Library()


@register.filter
def key_b64(key: str) -> str:
    return encode_key(key or "")
