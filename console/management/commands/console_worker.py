"""``manage.py console_worker``: the background-task worker (the same command as ``db_worker``)."""

from buckets.management.commands.db_worker import Command  # noqa: F401
