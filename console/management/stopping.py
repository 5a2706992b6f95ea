"""The long-running commands (console_run, console_scheduler) stop on Ctrl-C or SIGTERM alike."""

from __future__ import annotations

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM: the command finishes the round it is in, then stops."""
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())
    return stopped
