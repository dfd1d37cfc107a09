"""moto's S3 server with atomic conditional writes: ``python tests/moto_atomic.py PORT``.

moto checks ``If-None-Match: *`` and ``If-Match`` and then writes, without a lock between the
two (moto/s3/responses.py), so under load two concurrent creates of one key can both succeed,
which real S3 never allows. The store's lock and journal rely on exactly that guarantee, so the
tests' server runs every write (PUT, POST, DELETE) one at a time; reads stay concurrent.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

_WRITES = threading.Lock()


def serialized_writes(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return app(environ, start_response)
        with _WRITES:
            return list(app(environ, start_response))  # the whole answer while the lock is held

    return wrapped


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, serialized_writes(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
