"""The picks file ``<spec stem>.picks.yaml``: which take of each shot was chosen, beside the spec.

Written by `runner pick` and `runner review`, meant to be committed: a pull request shows a
pick as a two-line diff, and CI builds on it (``{from: keyart, take: picked}``). Per shot:

- ``take``, bound to that take's ``fingerprint`` and file ``sha256`` as the state records
  them. When the shot is generated again (its request changed, or ``--replace``), the take's
  fingerprint or file no longer matches: the pick is *stale*, plan and review say so, and
  nothing builds on it until someone picks again;
- ``rejects``: takes ruled out (each bound to its file the same way), a ``note``, and ``by``
  (git user.name, else the OS user) and ``at`` (UTC) of the last change.

The file is written in one stable form (shots sorted by id, fields in a fixed order), so its
diffs are as small as the change. It is read back like every file runner reads back: YAML
without tags or aliases bombs (``spec.yamlload``), then ``schema/picks.schema.json``, then
the checks a schema cannot say; a problem is a ``PicksError`` at file:line:col.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from runner.bounded import PICKS_BYTES, Unreadable, escaped, read_file
from runner.errors import Location, PicksError, SpecError
from runner.inputs.paths import confine, display_path
from runner.spec.yamlload import Document, parse_yaml
from runner.store.documents import first_problem_at, json_path, more
from runner.store.state import ShotState, State

PICKS_FORMAT = 1


@dataclass(frozen=True)
class Reject:
    take: int
    sha256: str


@dataclass(frozen=True)
class Pick:
    """What the picks file says of one shot (every field optional but the shot)."""

    take: int | None = None
    fingerprint: str | None = None
    sha256: str | None = None
    rejects: tuple[Reject, ...] = ()
    note: str | None = None
    by: str | None = None
    at: str | None = None

    @property
    def empty(self) -> bool:
        return self.take is None and not self.rejects and not self.note


@dataclass(frozen=True)
class Picks:
    """A picks file as read: its entries by shot id, and the sha256 of its bytes (None when
    there was no file), which a write compares with the file on disk before replacing it."""

    path: Path
    shots: Mapping[str, Pick] = field(default_factory=dict)
    sha256: str | None = None

    def get(self, shot_id: str) -> Pick | None:
        return self.shots.get(shot_id)


def picks_path(spec_path: Path) -> Path:
    """``campaign.yaml`` -> ``campaign.picks.yaml`` beside it."""
    name = spec_path.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return spec_path.with_name(f"{name}.picks.yaml")


# --- reading ---------------------------------------------------------------------------


def load_picks(path: Path, *, root: Path) -> Picks:
    """Read and check a picks file (none: no picks). ``root``: the project it must lie in."""
    confine(path, root, what="picks file", hint="the picks file must not be a symlink out of the project")
    try:  # the bounded reader: a regular file of at most PICKS_BYTES (a FIFO would hang a plain read)
        raw = read_file(path, PICKS_BYTES, what="picks files")
    except FileNotFoundError:
        return Picks(path)
    except Unreadable as e:
        raise PicksError(display_path(path), f"{e.reason}; restore it from git (`git checkout -- "
                         f"{path.name}`) or delete it") from None
    except OSError as e:
        raise PicksError(display_path(path), f"cannot read the picks file: {e.strerror or e}") from None
    return parse_picks(raw, path)


def parse_picks(raw: bytes, path: Path) -> Picks:
    """The picks in ``raw`` (the bytes of the file at ``path``)."""
    shown = display_path(path)
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > PICKS_BYTES:
        raise _bad(Location(shown), f"the file is over {PICKS_BYTES:,} bytes; picks files are limited to that")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _bad(Location(shown), f"not UTF-8 text (byte {e.start})") from None
    if not _has_content(text):
        return Picks(path, {}, digest)
    try:
        doc = parse_yaml(text, shown)
    except SpecError as e:
        message = e.problem.message.replace("a spec is a mapping with version, name and shots",
                                            "a picks file is a mapping with version and shots")
        raise _bad(e.problem.location, message) from None
    version = doc.data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > PICKS_FORMAT:
        raise _bad(doc.where(("version",)), f"written by a newer runner (picks format {version}, this runner reads "
                   f"{PICKS_FORMAT}); upgrade runner")
    found = first_problem_at("picks.schema.json", doc.data)
    if found is not None:
        parts, what, count = found
        # a problem with a mapping (a bad shot id, an unknown field) is shown at its key
        where = doc.where_key(tuple(parts)) if isinstance(_at(doc.data, parts), dict) else doc.where(tuple(parts))
        raise _bad(where, f"{json_path(parts)}: {what}{more(count)}")
    shots = {sid: _entry(doc, sid, raw_entry) for sid, raw_entry in sorted((doc.data.get("shots") or {}).items())}
    return Picks(path, shots, digest)


def _at(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _has_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def _entry(doc: Document, sid: str, raw: Mapping[str, Any]) -> Pick:
    where = ("shots", sid)
    named = [k for k in ("take", "fingerprint", "sha256") if k in raw]
    if named and len(named) != 3:
        missing = next(k for k in ("take", "fingerprint", "sha256") if k not in raw)
        raise _bad(doc.where(where), f"{json_path(where)}: a pick names its take, fingerprint and sha256 together; "
                   f"{missing} is missing")
    rejects = tuple(Reject(int(r["take"]), str(r["sha256"])) for r in raw.get("rejects") or ())
    seen: set[int] = set()
    for n, r in enumerate(rejects):
        if r.take in seen:
            raise _bad(doc.where((*where, "rejects", n)), f"{json_path((*where, 'rejects', n))}: take {r.take} is "
                       "rejected twice")
        seen.add(r.take)
    take = raw.get("take")
    if take is not None and take in seen:
        raise _bad(doc.where((*where, "take")), f"{json_path((*where, 'take'))}: take {take} is both picked and "
                   "rejected")
    return Pick(take=None if take is None else int(take), fingerprint=raw.get("fingerprint"), sha256=raw.get("sha256"),
                rejects=rejects, note=raw.get("note"), by=raw.get("by"), at=raw.get("at"))


def _bad(where: Location, what: str) -> PicksError:
    return PicksError(str(where), f"{what}; fix it, or restore the file from git (git checkout -- <file>). "
                      "Nothing was changed", label="corrupt picks file")


# --- writing ---------------------------------------------------------------------------

_HEADER = ("# Picks of {spec}: the chosen take of each shot, written by `runner pick` and `runner review`.\n"
           "# Commit it. A pick is bound to its take's fingerprint and file (sha256): when the shot is\n"
           "# generated again the pick is stale, and {{from: SHOT, take: picked}} waits for a new one.\n")


def picks_text(picks: Picks, spec_name: str) -> str:
    """The file's text: a header, then ``version`` and the shots sorted by id, fields in order."""
    shots: dict[str, Any] = {}
    for sid in sorted(picks.shots):
        p = picks.shots[sid]
        if p.empty:
            continue
        entry: dict[str, Any] = {}
        if p.take is not None:
            entry |= {"take": p.take, "fingerprint": p.fingerprint, "sha256": p.sha256}
        if p.rejects:
            entry["rejects"] = [{"take": r.take, "sha256": r.sha256} for r in sorted(p.rejects, key=lambda r: r.take)]
        for key in ("note", "by", "at"):
            value = getattr(p, key)
            if value:
                entry[key] = value
        shots[sid] = entry
    body = yaml.safe_dump({"version": PICKS_FORMAT, "shots": shots}, sort_keys=False, allow_unicode=True,
                          width=1_000_000, default_flow_style=False)
    # the spec's file name sits in a comment line: a newline in it would start a line of YAML
    return _HEADER.format(spec=escaped(spec_name)) + body


def with_pick(picks: Picks, shot_id: str, take: int, fingerprint: str, sha256: str, *, by: str, at: str,
              note: str | None = None) -> Picks:
    """``picks`` with ``take`` picked for ``shot_id`` (no longer rejected; the note kept unless given)."""
    old = picks.get(shot_id) or Pick()
    new = replace(old, take=take, fingerprint=fingerprint, sha256=sha256, by=by, at=at,
                  rejects=tuple(r for r in old.rejects if r.take != take), note=old.note if note is None else note)
    return _put(picks, shot_id, new)


def with_reject(picks: Picks, shot_id: str, take: int, sha256: str, *, by: str, at: str) -> Picks:
    """``picks`` with ``take`` of ``shot_id`` rejected (and no longer picked if it was)."""
    old = picks.get(shot_id) or Pick()
    rejects = tuple(r for r in old.rejects if r.take != take) + (Reject(take, sha256),)
    new = replace(old, rejects=rejects, by=by, at=at)
    if old.take == take:
        new = replace(new, take=None, fingerprint=None, sha256=None)
    return _put(picks, shot_id, new)


def with_note(picks: Picks, shot_id: str, note: str, *, by: str, at: str) -> Picks:
    old = picks.get(shot_id) or Pick()
    return _put(picks, shot_id, replace(old, note=note or None, by=by, at=at))


def without(picks: Picks, shot_id: str) -> Picks:
    """``picks`` with nothing said of ``shot_id`` (its pick, rejects and note cleared)."""
    return Picks(picks.path, {k: v for k, v in picks.shots.items() if k != shot_id}, picks.sha256)


def _put(picks: Picks, shot_id: str, entry: Pick) -> Picks:
    return Picks(picks.path, {**picks.shots, shot_id: entry}, picks.sha256)


# --- binding: is a pick still the take it named? ----------------------------------------


def stale_reason(shot_id: str, pick: Pick, entry: ShotState | None, current: Callable[[int], str | None]) -> str | None:
    """Why the pick of ``shot_id`` no longer names a take anyone can build on, or None when it
    does: the state still records that take with the picked file, and the spec still asks for
    it (``current(n)``: the take's fingerprint now, None when the shot has fewer takes now)."""
    n = pick.take
    if n is None:
        return "nothing is picked"
    done = entry.take(n) if entry is not None else None
    if done is None:
        return f"take {n} is not in the state any more"
    if done.sha256 != pick.sha256 or done.fingerprint != pick.fingerprint:
        return f"take {n} was generated again since it was picked"
    now = current(n)
    if now is None:
        return f"{shot_id} has fewer than {n} takes now"
    if now != pick.fingerprint:
        return f"{shot_id} changed since take {n} was picked"
    return None


def rejected(pick: Pick | None, state: State, shot_id: str) -> set[int]:
    """The takes of ``shot_id`` rejected in ``pick`` whose files are still the rejected ones."""
    if pick is None:
        return set()
    entry = state.shots.get(shot_id)
    out = set()
    for r in pick.rejects:
        done = entry.take(r.take) if entry else None
        if done is not None and done.sha256 == r.sha256:
            out.add(r.take)
    return out


class PickBook:
    """The picks a plan builds on: for ``{from: X, take: picked}``, the take of X to use, or
    why the dependent waits. ``current(n)`` is X's take fingerprint as planned now."""

    def __init__(self, picks: Picks, state: State) -> None:
        self.picks = picks
        self.state = state

    def choose(self, shot_id: str, current: Callable[[int], str | None]) -> tuple[int | None, str]:
        """(the picked take, "") when the pick holds, else (None, why the dependent waits)."""
        pick = self.picks.get(shot_id)
        ask = f"waits for a pick of {shot_id} (runner review)"
        if pick is None or pick.take is None:
            return None, ask
        why = stale_reason(shot_id, pick, self.state.shots.get(shot_id), current)
        if why is not None:
            return None, f"{ask}: the pick of take {pick.take} is stale, {why}"
        return pick.take, ""
