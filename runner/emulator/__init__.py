"""A Runway-compatible API emulator for demos, tests, CI and benchmarks."""

from runner.emulator.app import Emulator
from runner.emulator.config import EmulatorConfig
from runner.emulator.hooks import HookEvent
from runner.emulator.server import RunningEmulator, running_emulator, serve_forever
from runner.emulator.sim import prompt_hash

__all__ = [
    "Emulator", "EmulatorConfig", "HookEvent", "RunningEmulator", "prompt_hash", "running_emulator", "serve_forever",
]
