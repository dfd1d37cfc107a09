"""Make a plan: compare the spec with the state file and the cache; say what apply would do and cost.

Pure: reads the spec, its inputs, the state and the cache; sends nothing. Symbols:

- ``+`` create: a new shot (or new takes) that must be generated;
- ``~`` regenerate: the request changed (the reasons name the fields), or ``--replace``;
- ``=`` unchanged, or restorable from the cache without an API call ("cached");
- ``>`` moved: a new id whose request equals a removed id's (files and state move, no cost);
- ``-`` removed from the spec (its files stay on disk);
- ``!`` blocked: the same request was refused (SAFETY/ASSET) before; not paid for again;
- ``…`` waits: it takes ``{from: X, take: picked}`` and X has no pick that holds (or an
  upstream waits): nothing is made or paid for until someone picks (`runner review`).

Two takes of one plan with the same fingerprint are one generation: the first is planned as
usual, the later one ``reuse``s it (0 credits; apply copies the first's file once it is there),
as a later plan would restore it from the cache.

A take whose create was journaled but not finished ("pending") is resumed by apply and
costs nothing more. What makes two generations the same is in ``planner.fingerprint``.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import follows_input, is_input_clip, output_extension
from runner.catalog.models import ModelInfo
from runner.catalog.pricing import Cost, cost_of, load_prices
from runner.errors import Location, Problem, RunnerError, SpecErrors
from runner.inputs.assets import resolve_local
from runner.inputs.paths import display_path, is_inside, relative_to, resolved_text
from runner.planner.budget import cap_problem
from runner.planner.failures import blocks_retry, last_failures
from runner.planner.fingerprint import UPSTREAM, changed_fields
from runner.planner.graph import Fingerprints, replaced_downstream, select_ids, selected_removed, upstream_seconds
from runner.planner.picks import PickBook, Picks, load_picks, picks_path, stale_reason
from runner.planner.records import Plan, ShotPlan, Symbol, TakeAction, TakePlan
from runner.spec import Request, Shot, Spec, load_spec
from runner.store import cache as cache_mod
from runner.store.lock import OWNER_FILE, other_owner
from runner.store.place import Place, open_place, store_url
from runner.store.state import ShotState, State, Take, file_sha256


def output_name(shot_id: str, take: int, request: Request) -> str:
    """Where a take's file goes inside output_dir: ``<shot>/<take>.<ext>``, the extension by
    the output kind of the endpoint and the request's outputFormat."""
    return f"{shot_id}/{take}.{output_extension(request.endpoint, request.body)}"


def estimate(shot: Shot, spec_dir: Path, info: ModelInfo, hasher: cache_mod.Hasher,
             place: Place | None = None, probed: dict[str, float | None] | None = None,
             upstream: float | None = None) -> Cost:
    """Credits for one generation of ``shot``, probing the input clip when the length follows it
    (a length another machine probed is read from the store; one probed here is added to
    ``probed``, for apply to share); ``upstream``: the length of a clip another shot makes."""
    seconds = upstream
    endpoint = shot.request.endpoint
    if follows_input(endpoint, shot.request.body):
        clip = next((i for i in shot.request.inputs if is_input_clip(endpoint, i.pointer)), None)
        if clip is not None and clip.source == "local":
            path = resolve_local(clip.ref, spec_dir)
            digest = hasher.sha256(path)
            in_store = False
            if place is not None and place.objects is not None:
                in_store, shared = place.shared_probe(digest)
                if in_store and not cache_mod.probe_known(digest):
                    cache_mod.probe_remember(digest, shared)
            seconds = cache_mod.probe_cached(path, digest)
            if place is not None and place.objects is not None and not in_store and probed is not None:
                probed[digest] = seconds
    return cost_of(info, shot.request.body, endpoint=endpoint, input_seconds=seconds)


# --- the diff ---------------------------------------------------------------------------


class _Planner:
    def __init__(self, spec: Spec, state: State, models: dict[str, ModelInfo], replace: tuple[str, ...],
                 place: Place | None = None, picks: Picks | None = None) -> None:
        self.spec = spec
        self.state = state
        self.picks = picks if picks is not None else Picks(picks_path(spec.path))
        self.place = place
        self.probed: dict[str, float | None] = {}
        self.models = models
        self.replace = set(replace)
        self.replaced_inputs: dict[str, str] = {}  # shot -> the replaced input it is downstream of
        self.hasher = cache_mod.Hasher()
        self.inputs: dict[str, str] = {}
        self.base = str(spec.path.parent)
        self.out_prefix = spec.outputs.prefix
        self.escapes: list[Problem] = []
        self.known: set[str] | None = None  # take fingerprints the cache has outputs of (None: ask each)
        # A new campaign: nothing in a missing output_dir can lead elsewhere (and load_spec refused an
        # output_dir outside the project or in .git), so its takes' paths need no resolving each.
        self.out_exists = os.path.lexists(spec.output_dir)
        self.first: dict[str, tuple[str, int]] = {}  # take fingerprint -> the (shot, take) that makes it

    def present(self, rel: str, size: int) -> bool:
        """The output file exists with the size the state recorded."""
        try:
            st = os.stat(os.path.join(self.base, rel))
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and st.st_size == size

    def cached(self, fp: str) -> dict[str, Any] | None:
        """The cache's copy of a take (``known``: the fingerprints the cache has, asked at once)."""
        if self.known is not None and fp not in self.known:
            return None
        return cache_mod.output_get(fp)

    def in_store(self, done: Take | None, fp: str) -> dict[str, Any] | None:
        """The store's copy of a take the state records but this machine lacks (a fresh checkout)."""
        if done is None or done.fingerprint != fp or self.place is None or not self.place.has_output(done.sha256):
            return None
        return {"sha256": done.sha256, "bytes": done.bytes, "credits": done.credits, "task_id": done.task_id,
                "finished": done.finished, "source": done.source, "from": "store", "credits_from": done.credits_from}

    def confined(self, shot: Shot, take: int, out: str) -> None:
        """A take's output path must resolve to its place in output_dir (``OutputLayout.problem``):
        a shot folder that is a symlink (out of the project, or into a ``.git`` folder) is refused
        before anything is paid for."""
        if not self.out_exists:
            return
        why = self.spec.outputs.problem(out, shot_id=shot.id, take=take)
        if why is None:
            return
        path = Path(self.base) / out
        where = path.parent
        if not is_inside(path, self.spec.root):
            why = (f"resolves to {resolved_text(where)}, outside the project {self.spec.root} (a symlink?); remove "
                   "the link, outputs are written inside the project")
        self.escapes.append(Problem(shot.location, f"its output folder {display_path(where)} {why}",
                                    shot=shot.id, field="id"))

    def cost(self, shot: Shot) -> Cost:
        return estimate(shot, self.spec.path.parent, self.models[shot.model], self.hasher, self.place, self.probed,
                        upstream_seconds(shot, self.fps.by_id, self.fps.seconds))

    def take_actions(self, shot: Shot, take_fps: list[str], forced: bool,
                     prior_id: str | None) -> tuple[list[TakePlan], int | None, Cost]:
        prior = self.state.shots.get(prior_id) if prior_id else None
        cost = self.cost(shot)
        takes: list[TakePlan] = []
        total: int | None = 0
        numbers = list(range(1, shot.takes + 1))
        for n, fp in zip(numbers, take_fps, strict=True):
            out = self.out_prefix + output_name(shot.id, n, shot.request)
            self.confined(shot, n, out)
            take = self.take_action(shot, n, fp, out, prior, forced, cost)
            if take.action == "create" and fp in self.first:
                take = TakePlan(n, fp, "reuse", out, 0, reuses=self.first[fp])
            elif take.action != "blocked":
                self.first.setdefault(fp, (shot.id, n))
            takes.append(take)
            if take.action == "create":
                total = None if total is None or cost.credits is None else total + cost.credits
            elif take.action == "resume" and take.task_id is None and cost.credits is not None:
                total = None if total is None else total + cost.credits
        return takes, total, cost

    def take_action(self, shot: Shot, n: int, fp: str, out: str, prior: ShotState | None, forced: bool,
                    cost: Cost) -> TakePlan:
        """What apply does with take ``n`` of ``shot`` (fingerprint ``fp``, file ``out``)."""
        pending = next((p for p in (prior.pending if prior else []) if p.fingerprint == fp), None)
        done = prior.take(n) if prior else None
        if pending is not None and pending.task_id is None and not forced:
            # An intent of unknown outcome whose output this machine has (it finished while
            # the journal could not be written): restore it rather than risk paying again.
            hit = self.cached(fp)
            if hit is not None:
                return TakePlan(n, fp, "restore", out, 0, hit.get("task_id"), cached=hit)
        if pending is not None and not forced:
            # A journaled task is paid for; an intent without a task id may cost again
            # (with --recreate-unknown), so it is priced as a possible create.
            maybe = None if pending.task_id else cost.credits
            return TakePlan(n, fp, "resume", out, maybe or 0, pending.task_id)
        refused = (prior.failure or {}).get(fp) if prior else None
        if refused and not forced and blocks_retry(str(refused["code"]), shot):
            why = f"{refused['code']} last time; change the request or use --replace"
            return TakePlan(n, fp, "blocked", out, 0, refused.get("task_id"), blocked=why)
        # A take of a renamed shot moves; one found at its new place already was moved by an apply
        # killed before it recorded that (apply checks its sha256 there).
        if done is not None and done.fingerprint == fp and not forced and \
                (self.present(done.output, done.bytes) or (done.output != out and self.present(out, done.bytes))):
            action: TakeAction = "keep" if done.output == out else "move"
            return TakePlan(n, fp, action, out, 0, done.task_id, source=done.output)
        hit = None if forced else (self.cached(fp) or self.in_store(done, fp))
        if hit is not None:
            return TakePlan(n, fp, "restore", out, 0, hit.get("task_id"), cached=hit)
        if done is not None and done.fingerprint == fp and done.task_id and not forced:
            # Paid for, but the file is nowhere: its task gives fresh URLs while Runway keeps it.
            return TakePlan(n, fp, "refetch", out, 0, done.task_id)
        return TakePlan(n, fp, "create", out, cost.credits)

    def plan_shot(self, shot: Shot, moved_from: str | None) -> ShotPlan:
        shot = self.fps.by_id[shot.id]  # with its picked upstreams' takes
        canonical, hashes = self.fps.canonical[shot.id]
        self.inputs.update(hashes)
        shot_fp = self.fps.shot(shot)
        if shot.id in self.fps.waiting:
            return ShotPlan(id=shot.id, symbol="…", action="wait", reasons=(self.fps.waiting[shot.id],),
                            model=shot.model, mode=shot.mode, fingerprint=shot_fp, credits=0,
                            location=shot.location, tags=shot.tags, shot=shot, canonical=canonical,
                            price=self.cost(shot))
        via = self.replaced_inputs.get(shot.id)
        forced = shot.id in self.replace or via is not None
        prior_id = moved_from or (shot.id if shot.id in self.state.shots else None)
        takes, credits, cost = self.take_actions(shot, self.fps.of_takes(shot), forced, prior_id)
        prior = self.state.shots.get(prior_id) if prior_id else None
        case = _Case(shot, takes, prior, forced, moved_from,
                     f"input {via} is replaced (--replace)" if via else "--replace", self.pick_moves(shot, prior))
        symbol, action, reasons = _verdict(case, shot_fp, canonical)
        reasons += _notes(case) + self.pick_notes(shot, takes)
        return ShotPlan(
            id=shot.id, symbol=symbol, action=action, reasons=tuple(r for r in reasons if r),
            model=shot.model, mode=shot.mode, fingerprint=shot_fp, takes=tuple(takes),
            credits=credits, upper_bound=cost.upper_bound and credits not in (None, 0), moved_from=moved_from,
            location=shot.location, tags=shot.tags, shot=shot, canonical=canonical, price=cost,
        )

    def pick_moves(self, shot: Shot, prior: ShotState | None) -> dict[str, tuple[int, int]]:
        """Picked inputs whose pick moved to another take of the same upstream since ``shot`` was
        made: upstream id -> (take it was made from, take picked now)."""
        moves: dict[str, tuple[int, int]] = {}
        for u in shot.upstreams:
            if not u.picked or not u.take or prior is None:
                continue
            node: Any = prior.request
            for part in u.pointer:
                node = node.get(part) if isinstance(node, dict) else (
                    node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
            if not isinstance(node, str) or not node.startswith(UPSTREAM):
                continue
            old = node[len(UPSTREAM):]
            count = self.fps.by_id[u.shot].takes if u.shot in self.fps.by_id else 0
            before = next((n for n in range(1, count + 1) if self.fps.takes.get((u.shot, n)) == old), None)
            if before is not None and before != u.take:
                moves[u.shot] = (before, u.take)
        return moves

    def pick_notes(self, shot: Shot, takes: list[TakePlan]) -> list[str]:
        """What becomes of this shot's own pick: stale already, or made stale by this plan."""
        pick = self.picks.get(shot.id)
        if pick is None or pick.take is None:
            return []
        n = pick.take
        why = stale_reason(shot.id, pick, self.state.shots.get(shot.id),
                           lambda k: self.fps.takes.get((shot.id, k)) if k <= shot.takes else None)
        if why is not None:
            return [f"its pick (take {n}) is stale: {why}; pick again (runner review)"]
        if any(t.take == n and t.action == "create" for t in takes):
            return [f"its pick (take {n}) becomes stale: take {n} is generated again"]
        return []

    def plan(self, select: tuple[str, ...], exclude: tuple[str, ...]) -> list[ShotPlan]:
        spec_ids = {s.id for s in self.spec.shots}
        orphans = {sid: st for sid, st in self.state.shots.items() if sid not in spec_ids}
        self.fps = Fingerprints(self.spec.shots, self.spec.path.parent, self.hasher, PickBook(self.picks, self.state))
        self.known = cache_mod.outputs_known(self.fps.takes.values())
        self.replaced_inputs = replaced_downstream(self.fps.by_id, self.fps.order, self.replace)
        by_fp: dict[str, str] = {}
        for sid, st in sorted(orphans.items()):
            by_fp.setdefault(st.fingerprint, sid)
        # Moves are matched over the whole spec, so that a renamed shot left out by
        # --select/--exclude does not make its old id look removed.
        move_of: dict[str, str] = {}
        for shot in self.spec.shots:
            if shot.id in self.state.shots or not by_fp:
                continue
            candidate = by_fp.get(self.fps.shot(shot))
            if candidate and candidate not in move_of.values():
                move_of[shot.id] = candidate
        chosen = select_ids(self.spec.shots, select, exclude)
        # Graph order (upstreams first, roots in spec order): a plan reads from the key art down.
        out = [self.plan_shot(self.fps.by_id[sid], move_of.get(sid)) for sid in self.fps.order if sid in chosen]
        for sid, st in sorted(orphans.items()):
            if sid in move_of.values() or not selected_removed(sid, select, exclude):
                continue
            out.append(ShotPlan(id=sid, symbol="-", action="remove", reasons=("not in the spec (files kept)",),
                                model=st.model, mode=st.mode, fingerprint=st.fingerprint, credits=0))
        return out


def make_plan(
    spec_path: Path,
    *,
    select: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    replace: tuple[str, ...] = (),
    max_credits: float | None = None,
    prices: Path | None = None,
    allow_unpriced: tuple[str, ...] = (),
    store: str | None = None,
    place: Place | None = None,
    spec: Spec | None = None,
    trust_prices: bool = False,
    state: State | None = None,
) -> Plan:
    """Load the spec and its state and compute the plan (sends nothing to the API; with a store,
    reads the state from it and looks up outputs this machine lacks). ``place``, ``spec`` and
    ``state``, when the caller has them already (apply takes the lock of the place before
    planning; a review plans again when only the picks changed)."""
    why = cap_problem(max_credits)
    if why:
        raise RunnerError(f"--max-credits: {why}; give a finite number of credits (at least 0), or leave the "
                          "option out for no cap")
    spec = spec or load_spec(spec_path)
    check_output_owner(spec)
    unknown = sorted(set(replace) - {s.id for s in spec.shots})
    if unknown:
        raise RunnerError(f"--replace: no shot with id {', '.join(map(repr, unknown))} in {spec.display}")
    place = place or place_for(spec, store)
    state = state if state is not None else place.load_state()
    models, table = load_prices(prices, trust=trust_prices)
    strange = sorted(set(allow_unpriced) - set(models))
    if strange:
        raise RunnerError(f"--allow-unpriced: unknown model {', '.join(map(repr, strange))}; "
                          "`runner models` lists them")
    picks = load_picks(picks_path(spec.path), root=spec.root)
    planner = _Planner(spec, state, models, replace, place, picks)
    shots = planner.plan(select, exclude)
    if planner.escapes:
        raise SpecErrors(sorted(set(planner.escapes)))
    if (select or exclude) and not shots and spec.shots:
        raise RunnerError(f"--select/--exclude matched no shot of {spec.display} "
                          f"({len(spec.shots)} shots; globs match ids and tags)")
    creates = [s for s in shots if s.creates]
    unknown_cost = tuple(s.id for s in creates if s.credits is None)
    total = sum(s.credits or 0 for s in creates)
    spent = sum(t.credits or 0 for st in state.shots.values() for t in st.takes if t.source == "api")
    return Plan(
        spec=spec, state=state, shots=tuple(shots), total_credits=total, unknown_cost=unknown_cost,
        upper_bound=any(s.upper_bound for s in creates),
        max_credits=max_credits if max_credits is not None else spec.max_credits,
        price_table=table, inputs=dict(sorted(planner.inputs.items())),
        spec_sha256=file_sha256(spec.path) or "", state_sha256=place.digest(state), spent_credits=spent,
        place=place, probed=dict(planner.probed), picks=picks,
        options={"select": list(select), "exclude": list(exclude), "replace": list(replace),
                 "max_credits": max_credits, "allow_unpriced": sorted(set(allow_unpriced)),
                 "trust_prices": trust_prices},
    )


def check_output_owner(spec: Spec) -> None:
    """Refuse a spec whose output folder another spec (still there) claimed: both would
    write the same files. Located at ``output_dir``, or at ``name`` for the default folder."""
    other = other_owner(spec.output_dir, spec.path, spec.root)
    if other is None:
        return
    field = spec.output_field
    where = spec.output_location or Location(spec.display)
    folder = relative_to(spec.root, spec.output_dir)
    owner = relative_to(spec.root, other)
    raise SpecErrors([Problem(where, (
        f"the output folder {folder} belongs to the spec {owner}; two specs writing into one folder would "
        f"overwrite each other's videos. Give this spec its own "
        f"{'output_dir' if field == 'output_dir' else 'name or output_dir'} (or, if {owner} no longer writes "
        f"there, delete {folder}/{OWNER_FILE})"), field=field)])


@dataclass(frozen=True)
class _Case:
    """One shot's takes against what the state knows of it (``prior``)."""

    shot: Shot
    takes: list[TakePlan]
    prior: ShotState | None
    forced: bool
    moved_from: str | None
    forced_why: str = "--replace"
    pick_moves: Mapping[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    """Picked inputs now at another take of their upstream: id -> (take before, take now)."""

    @property
    def actions(self) -> set[str]:
        """The take actions; a reuse reads as the create it stands for (it is new, just free)."""
        return {"create" if t.action == "reuse" else t.action for t in self.takes}


def _verdict(case: _Case, shot_fp: str, canonical: Mapping[str, Any]) -> tuple[Symbol, str, list[str]]:
    """The shot's symbol, action and main reason, from its take actions."""
    actions, prior = case.actions, case.prior
    if case.forced:
        return ("~", "regenerate", [case.forced_why]) if prior else ("+", "create", [case.forced_why])
    if case.moved_from and actions <= {"keep", "move", "restore", "refetch", "resume"}:
        return ">", "move", [f"moved from {case.moved_from}"]
    if prior is None and "create" in actions:
        return "+", "create", ["new shot"]
    if prior is not None and prior.fingerprint != shot_fp:
        changed = changed_fields(prior.request, canonical, case.shot)
        if "create" in actions:
            return "~", "regenerate", [_changed_text(changed, case.pick_moves)]
        return "=", "cached", [f"restored from {_restored_from(case)} (" + (", ".join(changed) or "request")
                               + " changed back)"]
    if "create" in actions:
        return "~", "regenerate", _missing_takes(case)
    if "blocked" in actions:
        return "!", "blocked", [next(t.blocked for t in case.takes if t.blocked)]
    if "resume" in actions and actions <= {"resume", "keep"}:
        return ("~" if prior and prior.takes else "+"), "resume", []
    if actions <= {"keep"}:
        return "=", "unchanged", []
    if "move" in actions and not actions & {"restore", "refetch"}:
        return ">", "move", ["output path changed; files move"]
    if "refetch" in actions:
        ids = ", ".join(t.task_id or "" for t in case.takes if t.action == "refetch")
        return "=", "cached", [f"output missing: fetched again from task {ids} (free while Runway keeps it, "
                               "24-48 h; else the next plan counts a new generation)"]
    return "=", "cached", [f"restored from {_restored_from(case)}" if "restore" in actions else ""]


def _restored_from(case: _Case) -> str:
    """``the store`` when a take comes back from the shared store, else ``cache`` (plan's summary
    counts shots in the same words: ``render.restored_from``)."""
    stored = any(t.cached and t.cached.get("from") == "store" for t in case.takes if t.action == "restore")
    return "the store" if stored else "cache"


def _changed_text(changed: list[str], pick_moves: Mapping[str, tuple[int, int]] | None = None) -> str:
    """``prompt, ratio changed; input keyart changes``: an upstream's change is its own clause,
    and a new pick of it says so: ``input keyart's pick changes (2 → 3)``."""
    fields = [c for c in changed if not c.startswith("input ")]
    parts = [", ".join(fields) + " changed"] if fields else []
    for c in changed:
        if not c.startswith("input "):
            continue
        move = (pick_moves or {}).get(c.removeprefix("input "))
        parts.append(f"{c}'s pick changes ({move[0]} → {move[1]})" if move else f"{c} changes")
    return "; ".join(parts) or "request changed"


def _missing_takes(case: _Case) -> list[str]:
    """Why takes of an unchanged request are generated: more takes, or outputs gone."""
    had = max((t.take for t in case.prior.takes), default=0) if case.prior else 0
    missing = [t.take for t in case.takes if t.action in ("create", "reuse")]
    lost = [n for n in missing if n <= had]
    reasons = []
    failed = last_failures(case.prior, case.takes)
    if failed:
        return failed
    if had == 0:  # the entry has no take at all (refused, failed, or lost and gone from Runway too)
        return ["no output on record (take " + ", ".join(map(str, missing)) + ")"]
    if len(lost) < len(missing):
        reasons.append(f"takes {had} → {case.shot.takes}")
    if lost:
        reasons.append("output missing (take " + ", ".join(map(str, lost)) + ")")
    return reasons


def _notes(case: _Case) -> list[str]:
    """Reasons that come on top of the verdict: resumed tasks, takes no longer in the spec."""
    notes = []
    for t in case.takes:
        if t.reuses is not None:
            other = t.reuses[0] if t.reuses[1] == t.take else f"{t.reuses[0]} take {t.reuses[1]}"
            notes.append(f"{'take ' + str(t.take) + ' ' if case.shot.takes > 1 else ''}sends the same request as "
                         f"{other}: reuses that result (0 credits)")
    resumed = [t for t in case.takes if t.action == "resume"]
    n = sum(1 for t in resumed if t.task_id)
    unknown = len(resumed) - n
    if n:
        notes.append(f"resumes {n} pending task{'s' if n > 1 else ''} (already paid)")
    if unknown:
        notes.append(f"{unknown} create{'s' if unknown > 1 else ''} of unknown outcome "
                     "(made again only with --recreate-unknown)")
    prior = case.prior
    if prior is not None and len(prior.takes) > case.shot.takes and not case.forced:
        extra = sorted(t.take for t in prior.takes if t.take > case.shot.takes)
        if extra:
            notes.append(f"takes {', '.join(map(str, extra))} no longer in the spec (files kept)")
    return notes


def place_for(spec: Spec, store: str | None) -> Place:
    """Where ``spec``'s state lives: ``store`` (the --store option) > RUNNER_STORE > its ``store:``."""
    return open_place(spec.path, spec.name, store_url(store, spec_store(spec)), project_root=spec.root,
                      layout=spec.outputs)


def spec_store(spec: Spec) -> str | None:
    """The spec's ``store:`` (a folder is resolved and confined to the project by ``load_spec``)."""
    return spec.store
