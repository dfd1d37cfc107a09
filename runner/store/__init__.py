"""What runner keeps between runs: the state file and its journal, the apply lock, the cache,
and the one way files are written (atomically)."""

from runner.store.files import atomic_write
from runner.store.lock import spec_lock
from runner.store.state import Pending, ShotState, State, Take, load_state, state_path

__all__ = ["Pending", "ShotState", "State", "Take", "atomic_write", "load_state", "spec_lock", "state_path"]
