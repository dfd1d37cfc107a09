"""One review session: the spec it shows, its token, and the plan it reads (kept until a file changes).

The plan is made again when the spec, the state (file and journal), or the picks file change
on disk, so a page opened after an apply in another terminal shows the new takes; with a
store, each page load reads the state again. Media are looked up in that plan's state only:
a URL names a shot id and a take number, never a path, and the file served is the one the
state lists for that take, once it is checked to be the path runner derives for that take
(``OutputLayout.problem``, symlinks followed, never inside ``.git``), a regular file, and the
bytes the state records (sha256).
"""

from __future__ import annotations

import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from runner.catalog.endpoints import ENDPOINTS
from runner.inputs.paths import ID_PATTERN
from runner.planner import Plan, make_plan
from runner.planner.picks import Picks, load_picks, picks_path
from runner.review.board import ShotCard, build_board
from runner.review.picking import Picker
from runner.review.posters import Posters
from runner.store import cache as cache_mod
from runner.store.state import state_path
from runner.store.steps import journal_path


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Served:
    """A file a URL may serve: the take's, as the state lists it."""

    path: Path
    sha256: str
    kind: str


class Session:
    def __init__(self, spec_path: Path, *, store: str | None = None, token: str | None = None) -> None:
        self.spec_path = spec_path
        self.store = store
        self.token = token or secrets.token_urlsafe(32)
        self.posters = Posters()
        self._lock = threading.Lock()
        self._plan: Plan | None = None
        self._cards: list[ShotCard] = []
        self._seen: tuple[object, ...] | None = None
        self._digests: dict[Path, tuple[tuple[int, int, int], str]] = {}

    def _files(self) -> tuple[object, ...]:
        state = state_path(self.spec_path)
        return (_identity(self.spec_path), _identity(state), _identity(journal_path(state)),
                _identity(picks_path(self.spec_path)))

    def current(self, *, fresh: bool = False) -> Plan:
        """The plan, made again when a file it comes from changed (or ``fresh``). When only the
        picks file changed (a pick), the loaded spec and state are planned again as they are:
        a pick costs a plan, not a new reading of the whole campaign."""
        with self._lock:
            seen = self._files()
            old = self._plan
            if fresh or old is None or seen != self._seen:
                reuse = old is not None and self._seen is not None and seen[:3] == self._seen[:3] and not self.store
                if reuse and old is not None:
                    plan = make_plan(self.spec_path, spec=old.spec, place=old.place, state=old.state)
                else:
                    plan = make_plan(self.spec_path, store=self.store)
                self._plan, self._cards, self._seen = plan, [], seen
            assert self._plan is not None
            return self._plan

    def plan(self, *, fresh: bool = False) -> tuple[Plan, list[ShotCard]]:
        """The plan and its board (built once per plan)."""
        plan = self.current(fresh=fresh)
        with self._lock:
            if self._plan is plan and not self._cards:
                self._cards = build_board(plan)
            return plan, self._cards if self._plan is plan else build_board(plan)

    def page_plan(self) -> tuple[Plan, list[ShotCard]]:
        """For a page load: with a store the state may have changed elsewhere, so read it again."""
        return self.plan(fresh=bool(self.store))

    def picks(self) -> Picks:
        plan = self.current()
        return load_picks(picks_path(plan.spec.path), root=plan.spec.root)

    def picker(self) -> Picker:
        return Picker(self.current())

    def served(self, shot_id: str, take: int) -> Served | None:
        """The file of ``take`` of ``shot_id`` when the state lists one that may be served: its
        path is the one runner derives for that take (``OutputLayout.problem``: in its shot folder
        of output_dir, symlinks followed, never in ``.git``), and its bytes are the ones the state
        records (sha256)."""
        if not ID_PATTERN.fullmatch(shot_id) or not 1 <= take <= 1000:
            return None
        plan = self.current()
        entry = plan.state.shots.get(shot_id)
        done = entry.take(take) if entry else None
        if done is None or plan.spec.outputs.problem(done.output, shot_id=shot_id, take=take) is not None:
            return None
        resolved = (plan.spec.path.parent / done.output).resolve()
        if self._digest(resolved) != done.sha256:
            return None
        shot = next((s for s in plan.spec.shots if s.id == shot_id), None)
        return Served(resolved, done.sha256, ENDPOINTS[shot.request.endpoint].output if shot else "video")

    def _digest(self, path: Path) -> str | None:
        """sha256 of the regular file at ``path``, hashed again only when it changed (inode,
        mtime, size): a grid asks for each take's file several times."""
        try:
            st = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            known = self._digests.get(path)
        if known is not None and known[0] == seen:
            return known[1]
        try:
            digest = cache_mod.sha256_file(path)
        except OSError:
            return None
        with self._lock:
            self._digests[path] = (seen, digest)
        return digest
