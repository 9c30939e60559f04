"""The system Chromium, headless, as benchmarks/bench_demo.py and the browser tests
(tests/test_demo.py) drive it: here, not in tests/, since no benchmark imports a test.

Playwright only drives it: no browser is downloaded (`make test` installs Debian's chromium).
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# What works as root on these machines, offline (no background requests to Google).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The demo page's signal that its first recommendations are on screen.
READY = "document.body.dataset.ready === 'true'"


def missing_reason() -> str | None:
    """Why the browser cannot start, in one line; None when it can."""
    if os.path.isfile(CHROMIUM):
        return None
    return (
        f"no Chromium at {CHROMIUM}: `make test` installs the Debian package chromium "
        "(apt-get, as root); install it, or set CHROMIUM to a Chromium binary."
    )


def launch(playwright):
    """A headless Chromium; Playwright gives every launch a fresh temporary profile."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
