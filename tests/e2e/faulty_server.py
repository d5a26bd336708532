"""The real server app, wrapped so that the process dies after a push commits but before
its answer leaves: run with

    python -m uvicorn tests.e2e.faulty_server:create_app --factory --port P

While the file named by `E2E_DIE_AFTER_PUSH_MARKER` exists, a `POST /api/v1/sync/push`
runs to the end (its transaction commits inside the handler) and then, instead of the
response, the process exits at once (`os._exit`, as a crash or `kill -9` would).
"""

import os
from collections.abc import MutableMapping
from typing import Any

from server.main import create_app as create_real_app

MARKER_ENV = "E2E_DIE_AFTER_PUSH_MARKER"
PUSH_PATH = "/api/v1/sync/push"

Message = MutableMapping[str, Any]


def create_app() -> Any:
    inner = create_real_app()
    marker = os.environ.get(MARKER_ENV)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not (
            marker
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == PUSH_PATH
        ):
            await inner(scope, receive, send)
            return

        async def send_or_die(message: Message) -> None:
            # The response starts only after the handler returned, i.e. after commit.
            if message["type"] == "http.response.start" and os.path.exists(marker):
                os.write(2, b"faulty_server: push applied, dying before the answer\n")
                os._exit(1)
            await send(message)

        await inner(scope, receive, send_or_die)

    return app
