"""The Runway emulator in a process of its own, for benchmarks (so that its CPU is not ours).

    with emulator_process({"generation_seconds": 5, "max_concurrent": 10}) as base_url:
        ...
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator_process(settings: dict[str, object]) -> Iterator[str]:
    """Start `runner emulate` with these settings (runner/emulator/config.py) on a free port;
    yields its base URL and stops it on exit."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "emulator.json"
        config.write_text(json.dumps(settings))
        proc = subprocess.Popen([sys.executable, "-m", "runner", "emulate", "--port", str(port), "--config",
                                 str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(400):
                try:
                    httpx.get(f"{base}/_emulator/stats")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise SystemExit("emulator did not start")
            yield base
        finally:
            proc.terminate()
            proc.wait()
