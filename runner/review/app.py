"""The review web app: a small Starlette app on 127.0.0.1 (Datasette's shape: routes in one
module, server-rendered Jinja templates, a little script, no build step).

Routes: ``/`` the grid, ``/spec`` the spec with line anchors, ``/media/<shot>/<take>`` and
``/poster/<shot>/<take>`` a take's file and poster, ``POST /api/{pick,reject,note,clear}`` the
writes (picks only), ``/static/`` the script and the style sheet.

Security, in the order a request meets it:
- the Host header must be 127.0.0.1 or localhost (a DNS-rebinding page never gets an answer);
- every page and file needs the session's token: the URL runner prints carries it once, and the
  page trades it for an HttpOnly, SameSite=Strict cookie (as Jupyter does);
- every write needs the token in the ``X-Runner-Token`` header, which no other site's page can
  set (a cross-site form or a CSRF request carries no such header): without it, nothing changes;
- media URLs name a shot id and a take number, never a path: the file is the one the state lists
  (``Session.served``);
- every answer has a strict Content-Security-Policy (scripts and styles from /static only, media
  from this server only, no frames, no inline script or style), nosniff and no referrer.
"""

from __future__ import annotations

import hmac
import html
import json
import mimetypes
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from runner.errors import PicksChanged, RunnerError
from runner.planner.picks import picks_path
from runner.review.board import ShotCard, TakeCard, build_board
from runner.review.page import HERE, Links, arrange, context, details, last_review, paginate, row, templates
from runner.review.session import Served, Session

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
           (b"cross-origin-resource-policy", b"same-origin")]
NOTICES = {"picks-changed": "The picks file changed on disk while this page was open (another review, an editor "
                            "or git); nothing was overwritten. This is the file as it is now: pick again."}
Endpoint = Callable[[Request], Awaitable[Response]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class SecurityHeaders:
    """Adds the CSP and friends to every response (pages, files, errors, static files)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _cookie(request: Request) -> str:
    port = request.url.port or 0
    return f"runner_review_{port}"


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _links() -> Links:
    def media(card: ShotCard, take: TakeCard) -> str | None:
        return f"/media/{card.id}/{take.take}?v={take.sha256[:16]}" if take.path is not None else None

    def poster(card: ShotCard, take: TakeCard) -> str | None:
        if take.path is None or card.kind == "audio":
            return None
        return f"/poster/{card.id}/{take.take}?v={take.sha256[:16]}"

    return Links(media, poster, lambda line: f"/spec#L{line}")


class Review:
    """The endpoints of one review ``session`` (its token, its spec)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.env = templates()
        self.links = _links()

    def guarded(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` behind the session's token: a URL with it sets the cookie, others need it."""
        token = self.session.token

        async def check(request: Request) -> Response:
            given = request.query_params.get("token")
            if given is not None and _same(given, token):
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                answer = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
                answer.set_cookie(_cookie(request), token, httponly=True, samesite="strict", path="/")
                return answer
            if not _same(request.cookies.get(_cookie(request)), token):
                return HTMLResponse("<!doctype html><title>runner review</title><p>Open the address runner review "
                                    "printed: it holds this session's token.</p>", status_code=403)
            return await endpoint(request)

        return check

    async def page(self, request: Request) -> Response:
        plan, cards = await run_in_threadpool(self.session.page_plan)
        picks = await run_in_threadpool(self.session.picks)
        q = request.query_params
        ctx = context(plan, cards, picks, self.links, mode="live")
        choice = {k: q.get(k, d) for k, d in (("group", "entry"), ("show", "all"), ("model", ""), ("tag", ""),
                                                 ("q", ""))}
        page = int(q["page"]) if q.get("page", "").isdigit() else 1
        groups, pages = paginate(arrange(ctx["rows"], **choice), page)
        query = urlencode({k: v for k, v in choice.items() if v})
        ctx["details"] = {"spec": plan.spec.display, "shots": {}}  # fetched one shot at a time (/details/<shot>)
        html = self.env.get_template("review.html").render(
            **ctx, **choice, groups=groups, page=page, pages=pages, query=f"{query}&" if query else "",
            token=self.session.token, notice=NOTICES.get(q.get("notice", "")), spec_href="/spec",
            picks_name=picks_path(plan.spec.path).name)
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def spec_source(self, request: Request) -> Response:
        plan, _ = self.session.plan()
        lines = plan.spec.path.read_text(encoding="utf-8", errors="replace").splitlines()
        html = self.env.get_template("spec.html").render(spec=plan.spec, lines=lines)
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def shot_details(self, request: Request) -> Response:
        """What the page shows of one shot when a take of it is selected."""
        shot = str(request.path_params["shot"])
        plan, cards = await run_in_threadpool(self.session.plan)
        card = next((c for c in cards if c.id == shot), None)
        if card is None:
            return JSONResponse({"error": f"no shot {shot!r}"}, status_code=404)
        return JSONResponse(details(card, plan.spec.display), headers={"cache-control": "no-store"})

    def _served(self, request: Request) -> Served | None:
        return self.session.served(str(request.path_params["shot"]), int(request.path_params["take"]))

    async def media(self, request: Request) -> Response:
        served = self._served(request)
        if served is None:
            return Response("not a file of this campaign's state", status_code=404, media_type="text/plain")
        kind = mimetypes.guess_type(served.path.name)[0] or "application/octet-stream"
        return FileResponse(served.path, media_type=kind, headers={"cache-control": "private, max-age=3600"})

    async def poster(self, request: Request) -> Response:
        served = self._served(request)
        if served is None:
            return Response("not a file of this campaign's state", status_code=404, media_type="text/plain")
        data = await run_in_threadpool(self.session.posters.get, served.path, served.sha256, served.kind)
        if data is None:
            return Response("no poster", status_code=404, media_type="text/plain")
        return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=86400"})

    async def write(self, request: Request) -> Response:
        if not _same(request.headers.get("x-runner-token"), self.session.token):
            return JSONResponse({"error": "a write needs this session's token (X-Runner-Token); nothing was "
                                          "changed"}, status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send JSON; nothing was changed"}, status_code=415)
        try:
            body = json.loads(await request.body())
            return JSONResponse(await run_in_threadpool(self._write, str(request.path_params["action"]), body))
        except PicksChanged as e:
            return JSONResponse({"error": str(e), "changed": True}, status_code=409)
        except (RunnerError, ValueError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)

    def _write(self, action: str, body: Any) -> dict[str, Any]:
        shot, expected = _fields(body)
        picker = self.session.picker()
        if action == "pick":
            picker.pick(shot, _take(body), expected=expected)
            message = f"Picked {shot} take {body['take']}"
        elif action == "reject":
            picker.reject(shot, [_take(body)], expected=expected)
            message = f"Rejected {shot} take {body['take']}"
        elif action == "note":
            if not isinstance(body.get("note"), str):
                raise ValueError("give the note (text)")
            picker.note(shot, body["note"], expected=expected)
            message = f"Noted {shot}"
        elif action == "clear":
            picker.clear(shot, expected=expected)
            message = f"Cleared {shot}"
        else:
            raise ValueError(f"no such write: {action}")
        return {"ok": True, "message": message, "picks_sha256": picker.picks.sha256, "rows": self._rows(shot)}

    def _rows(self, shot: str) -> list[dict[str, Any]]:
        """The rows a write changed: the shot's, and its dependents' (which may wait no more)."""
        plan = self.session.current()  # the picks file changed: planned again (dependents may wait no more)
        picks = plan.picks
        assert picks is not None
        affected = {shot} | {s.id for s in plan.spec.shots if any(u.shot == shot for u in s.upstreams)}
        since = last_review(picks)
        return [{"shot": c.id, "row": row(c, self.links, plan.spec.display, since),
                 "details": details(c, plan.spec.display)} for c in build_board(plan, picks, only=affected)]


def _fields(body: Any) -> tuple[str, str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("shot"), str):
        raise ValueError("give the shot")
    expected = body.get("expected")
    if expected is not None and not isinstance(expected, str):
        raise ValueError("expected: the sha256 of the picks file the page shows, or null")
    return body["shot"], expected


def _take(body: dict[str, Any]) -> int:
    take = body.get("take")
    if not isinstance(take, int) or isinstance(take, bool):
        raise ValueError("give the take (a number)")
    return take


async def _failed(request: Request, error: Exception) -> Response:
    """A spec, state or picks file that cannot be read: say so (escaped), serve no file."""
    if request.url.path.startswith(("/media/", "/poster/")):
        return Response("not a file of this campaign's state", status_code=404, media_type="text/plain")
    text = html.escape(str(error))
    return HTMLResponse(f"<!doctype html><title>runner review</title><h1>runner review cannot show this campaign"
                        f"</h1><pre>{text}</pre><p>Fix it, then reload.</p>", status_code=500)


def create_app(session: Session) -> Starlette:
    """The app of one review ``session``."""
    review = Review(session)
    routes = [
        Route("/", review.guarded(review.page)),
        Route("/spec", review.guarded(review.spec_source)),
        Route("/details/{shot}", review.guarded(review.shot_details)),
        Route("/media/{shot}/{take:int}", review.guarded(review.media)),
        Route("/poster/{shot}/{take:int}", review.guarded(review.poster)),
        Route("/api/{action}", review.write, methods=["POST"]),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={RunnerError: _failed}, middleware=[
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
    ])
