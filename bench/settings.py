"""The console's settings with the bench-only URLconf (the floor page): for bench processes only.

Never named by production: DJANGO_SETTINGS_MODULE there is console.settings, whose URLconf has no
floor page. bench/common.py selects this module for every bench process and the gunicorn it starts.
"""

from console.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]}]  # noqa: F405
