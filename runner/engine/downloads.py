"""Apply's download step: a finished task's output, streamed to a temp file beside its final
name, verified as the kind of file its endpoint produces, then renamed into place and kept
in the content-addressed cache. Signed URLs expire, so an expired one is refreshed by
reading the task again; a refused URL (the URL policy) is never retried."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import OutputKind
from runner.engine.client import TaskStatus
from runner.engine.context import ApplyContext
from runner.engine.journal import now
from runner.errors import DownloadError, OutsideProject, StoreError
from runner.inputs.media import verify_output
from runner.inputs.paths import display_path
from runner.store import cache as cache_mod
from runner.store.files import TempFile

DOWNLOAD_ATTEMPTS = 4


class Downloads:
    def __init__(self, ctx: ApplyContext) -> None:
        self.ctx = ctx

    async def fetch(self, label: str, fingerprint: str, status: TaskStatus, dest: Path,
                    kind: OutputKind, *, root: Path | None = None) -> dict[str, Any]:
        """Download the output of ``status`` to ``dest`` (inside ``root``, the project by
        default); returns its metadata for the state."""
        last: Exception | None = None
        for attempt in range(DOWNLOAD_ATTEMPTS):
            if not status.output:
                raise DownloadError("the task succeeded without an output URL")
            try:
                tmp = TempFile(dest, root=root or self.ctx.root)
            except OutsideProject as e:  # a symlink made after the plan: the paid task stays journaled
                raise DownloadError(str(e), refused=True) from None
            except OSError as e:
                raise _cannot_write(dest, e) from None
            try:
                meta = await self._once(status, tmp, kind)
                await asyncio.to_thread(cache_mod.output_put, fingerprint, dest, meta)
                await self._keep_in_store(label, dest, str(meta["sha256"]))
                return meta
            except OSError as e:  # disk full, a read-only folder, a directory where the file goes
                tmp.discard()
                raise _cannot_write(dest, e) from None
            except DownloadError as e:
                last = e
                tmp.discard()
                if e.refused:
                    raise
                self.ctx.reporter.note(f"{label}: {e}; retrying")
                if e.expired:
                    status = await self.ctx.client.task(status.id)
                await asyncio.sleep(min(2.0, self.ctx.options.poll_interval) * (attempt + 1))
            except BaseException:
                tmp.discard()
                raise
        raise DownloadError(f"could not download the output after {DOWNLOAD_ATTEMPTS} tries: {last}",
                            expired=isinstance(last, DownloadError) and last.expired)

    async def _keep_in_store(self, label: str, dest: Path, sha256: str) -> None:
        """Put the output in the shared store, so no other machine pays for it again. The file is
        paid for and in place whatever happens here: a store that fails is a warning, and
        `runner push`... the next apply pushes what the store lacks."""
        place = self.ctx.plan.place
        if place is None or place.objects is None:
            return
        try:
            await asyncio.to_thread(place.push_output, dest, sha256)
        except StoreError as e:
            self.ctx.reporter.note(f"{label}: warning: not kept in the store ({e})")

    async def _once(self, status: TaskStatus, tmp: TempFile, kind: OutputKind) -> dict[str, Any]:
        digest, size, ctype = await self.ctx.client.download(status.output[0], tmp.path,
                                                             max_bytes=self.ctx.options.max_output_bytes)
        problem = await asyncio.to_thread(verify_output, tmp.path, kind, content_type=ctype,
                                          suffix=tmp.dest.suffix)
        if problem:
            raise DownloadError(problem)
        await asyncio.to_thread(tmp.commit)
        return {"sha256": digest, "bytes": size, "credits": status.credits, "task_id": status.id, "finished": now()}


def _cannot_write(dest: Path, e: OSError) -> DownloadError:
    """A local problem, not the API's: retrying the download would not help, so it is not retried."""
    reason = e.strerror or type(e).__name__
    return DownloadError(f"cannot write the output {display_path(dest)}: {reason}; free disk space, make the folder "
                         "writable or move away what is in the way", refused=True)
