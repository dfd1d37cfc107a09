"""What a review shows: one card per shot, its takes, and where each stands — from a plan.

The page, the static report and the export read these records; none of them re-derives a
status. A shot's status compares its takes in the state with what the spec asks for now
(the plan's take fingerprints):

- ``done``: every take the spec asks for is recorded and made from the request it asks for;
- ``out of date``: takes exist but were made from another request (a prompt edited and not
  applied yet): never "done", and the prompt and settings shown are the ones the files were
  made from, beside the spec's;
- ``partial`` (some takes), ``pending`` (tasks in the journal), ``failed`` (the last try of
  a take failed), ``waiting`` (``take: picked`` of a shot without a pick), ``not generated``.

Each take carries what a reviewer weighs: credits planned (the price of one take now) and
charged (the state's record), the seed and prompt it was made with, its task id, whether it
is picked, rejected or the pick is stale; each shot its spec line and its groups (the matrix
values of its variant, its tags) for the grid's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import ENDPOINTS, OutputKind
from runner.inputs.paths import OutputLayout
from runner.planner import Plan, ShotPlan
from runner.planner.picks import Pick, Picks, picks_path, rejected, stale_reason
from runner.spec import Shot
from runner.store.state import ShotState, Take

Status = str  # done, out of date, partial, pending, failed, waiting, not generated

# The request fields a reviewer compares between the files and the spec, by body key.
SETTINGS = ("ratio", "duration", "seed", "model")


@dataclass(frozen=True)
class TakeCard:
    take: int
    output: str
    """The take's file, relative to the spec's folder (as the state records it)."""
    path: Path | None
    """The file on this machine, resolved at the take's derived place (``OutputLayout.problem``);
    None when it is not here or not there."""
    sha256: str
    bytes: int
    charged: int | None
    task_id: str | None
    finished: str
    current: bool
    """Made from the request the spec asks for now."""
    picked: bool = False
    rejected: bool = False
    seed: int | None = None
    prompt: str | None = None
    charged_by_api: bool = False
    """``charged`` is the task's own ``cost.credits`` (not the price table's figure)."""
    refused: str | None = None
    """Why ``output`` is not the take's derived file (``OutputLayout.problem``), when it is not."""


@dataclass(frozen=True)
class ShotCard:
    plan: ShotPlan
    shot: Shot
    status: Status
    reason: str
    kind: OutputKind
    takes: tuple[TakeCard, ...]
    planned: int | None
    """Credits of one take at today's prices (None: unknown price)."""
    pick: Pick | None = None
    pick_status: str = "unpicked"  # picked, stale, unpicked
    pick_why: str = ""
    made_from: Mapping[str, Any] | None = None
    """The request the recorded takes were made from (the state's), when it differs from the spec's."""
    groups: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.shot.id

    @property
    def charged(self) -> int:
        return sum(t.charged or 0 for t in self.takes)

    @property
    def prompt(self) -> str | None:
        value = self.shot.request.body.get("promptText")
        return None if value is None else str(value)

    @property
    def prompt_made(self) -> str | None:
        """The prompt the files were made from, when it is not the spec's."""
        if self.made_from is None:
            return None
        value = self.made_from.get("promptText")
        return None if value is None or value == self.prompt else str(value)

    def settings(self) -> list[tuple[str, Any, Any]]:
        """(field, spec's value, files' value) of the compared settings; the files' value is
        the spec's when nothing differs."""
        body = self.shot.request.body
        made = self.made_from if self.made_from is not None else body
        out = []
        for key in SETTINGS:
            now, then = body.get(key), made.get(key)
            if now is not None or then is not None:
                out.append((key, now, then))
        return out

    @property
    def picked_take(self) -> TakeCard | None:
        return next((t for t in self.takes if t.picked), None)


def _status(sp: ShotPlan, shot: Shot, entry: ShotState | None, current: set[int]) -> tuple[Status, str]:
    if sp.action == "wait":  # takes made from an earlier pick are out of date until the next one
        why = sp.reasons[0] if sp.reasons else "waits for a pick"
        return ("out of date" if entry is not None and entry.takes else "waiting"), why
    if entry is None:
        return "not generated", "run `runner apply`"
    if entry.pending:
        return "pending", f"{len(entry.pending)} task(s) in the journal; run `runner apply` to finish them"
    wanted = set(range(1, shot.takes + 1))
    if wanted <= current:
        return "done", ""
    if entry.takes and not current & wanted:
        return "out of date", "; ".join(sp.reasons) or "made from another request; run `runner apply`"
    if entry.failure:  # the code and the API's reason, as apply printed them
        first = next(iter(entry.failure.values()))
        code, reason = str(first.get("code")), str(first.get("reason") or "")
        return "failed", reason if reason.startswith(code) else f"{code}: {reason}".rstrip(": ")
    if not entry.takes:
        return "not generated", "run `runner apply`"
    return "partial", f"{len(current & wanted)} of {shot.takes} takes"


def _take_card(layout: OutputLayout, shot_id: str, t: Take, current: bool, picked: bool, rejects: set[int],
               request: Mapping[str, Any]) -> TakeCard:
    path = layout.spec_dir / t.output
    # load_state refused paths that are not the take's own file (OutputLayout.problem); one whose
    # shot folder became a symlink since (into .git, another shot's folder) is not followed either
    refused = layout.problem(t.output, shot_id=shot_id, take=t.take)
    here = path.resolve() if refused is None and path.is_file() else None
    seed = request.get("seed")
    prompt = request.get("promptText")
    return TakeCard(t.take, t.output, here, t.sha256, t.bytes, t.credits, t.task_id, t.finished, current,
                    picked=picked, rejected=t.take in rejects, refused=refused,
                    charged_by_api=t.source == "api" and t.credits is not None and t.credits_from is None,
                    seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
                    prompt=None if prompt is None else str(prompt))


def groups_of(shot: Shot) -> dict[str, str]:
    """The grid's row keys of a shot: its spec entry (the variants of one matrix entry share a
    row group; shots without a matrix none), each matrix value, its tags."""
    where = f"{Path(shot.location.path).name}:{shot.location.line}"
    out = {"entry": f"{where} · matrix of {', '.join(shot.matrix)}" if shot.matrix else ""}
    for key, value in shot.matrix.items():
        out[f"matrix.{key}"] = str(value)
    out["tag"] = ", ".join(shot.tags) or "(no tag)"
    return out


def build_board(plan: Plan, picks: Picks | None = None, *, only: set[str] | None = None) -> list[ShotCard]:
    """One card per shot of ``plan`` (its graph order), against ``picks`` (default: the plan's);
    ``only``: just the cards of these shots."""
    spec = plan.spec
    picks = picks if picks is not None else (plan.picks or Picks(picks_path(spec.path)))
    cards = []
    for sp in plan.shots:
        shot = sp.shot
        if shot is None or (only is not None and sp.id not in only):
            continue
        entry = plan.state.shots.get(sp.id)
        planned_fps = {t.take: t.fingerprint for t in sp.takes}
        current = {t.take for t in (entry.takes if entry else []) if planned_fps.get(t.take) == t.fingerprint}
        status, reason = _status(sp, shot, entry, current)
        pick = picks.get(sp.id)
        pick_status, why = "unpicked", ""
        if pick is not None and pick.take is not None:
            why = stale_reason(sp.id, pick, entry, planned_fps.get) or ""
            pick_status = "stale" if why else "picked"
        rejects = rejected(pick, plan.state, sp.id)
        request = entry.request if entry else {}
        takes = tuple(
            _take_card(spec.outputs, sp.id, t, t.take in current,
                       pick_status == "picked" and pick is not None and pick.take == t.take, rejects, request)
            for t in sorted(entry.takes if entry else [], key=lambda t: t.take))
        planned = sp.price.credits if sp.price is not None else None
        made_from = request if entry is not None and status == "out of date" else None
        cards.append(ShotCard(sp, shot, status, reason, ENDPOINTS[shot.request.endpoint].output, takes,
                              planned, pick, pick_status, why, made_from,
                              groups_of(shot)))
    return cards
