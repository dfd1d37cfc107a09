"""Debian's chromium for the tests that need a browser (Playwright drives it with executablePath)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    next((p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium") if Path(p).is_file()), None)
# .ci/run sets this: there the browser tests must run, never skip
REQUIRED = os.environ.get("RUNNER_TEST_REQUIRE_CHROMIUM") == "1"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
