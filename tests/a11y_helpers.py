"""Accessibility checks in a real browser: axe-core (pinned in tests/a11y/package.json) run inside Chromium.

axe is injected as an init script (DevTools protocol), so the console's Content-Security-Policy stays on and
untouched: the pages are checked exactly as they are served.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.test_browser import close_connections

AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WCAG 2.1 A and AA plus axe's best practices, as the audit ran them.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = {"serious", "critical"}


@contextmanager
def chromium():
    """One Chromium for a module's tests (a browser start costs more than a dozen page checks)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci --prefix tests/a11y` (make test does).")
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield browser
            finally:
                browser.close()
                close_connections()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def new_page(browser, width: int = 1280, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    # Playwright turns file-chooser interception on without waiting for the browser; a listener from
    # the start makes sure a picker opened later (the "u" shortcut) is caught, however loaded the machine.
    page.on("filechooser", lambda chooser: None)
    return page


def settle(page) -> None:
    """Wait until htmx has no request in flight and nothing is settling."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"
        " && !document.querySelector('[hx-trigger=load]')"
    )


def axe(page) -> list[dict]:
    """axe's violations on the page as it is now (every impact)."""
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 200),
                                            summary: n.failureSummary})),
            }));
        }""",
        TAGS,
    )


def check(page, label: str, found: list[str], schemes=("light", "dark")) -> None:
    """Run axe in each colour scheme; add a readable line per serious or critical violation to `found`."""
    for scheme in schemes:
        # Reduced motion turns the console's transitions off, so colours are measured settled, not halfway.
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        # Anything still moving gets a bounded wait: an animation that never finishes must not hang the run.
        page.evaluate(
            "() => Promise.race([Promise.allSettled(document.getAnimations().map((a) => a.finished)),"
            " new Promise((resolve) => setTimeout(resolve, 2000))])"
        )
        for v in axe(page):
            if v["impact"] not in FAILING:
                continue
            for node in v["nodes"]:
                summary = " ".join((node["summary"] or "").split())
                found.append(
                    f"[{scheme}] {label}: {v['impact']} {v['id']} ({v['help']})\n"
                    f"    at {node['target']}: {node['html']}\n    {summary}"
                )
    page.emulate_media(color_scheme="light", reduced_motion="reduce")


def report(found: list[str]) -> str:
    return f"{len(found)} serious or critical axe violation(s):\n" + "\n".join(found)
