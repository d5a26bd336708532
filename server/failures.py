"""A request that fails unexpectedly: a 500 with a request id, and a log line without data.

Starlette hands an exception to its handler for `Exception` and then raises it again, for
the server to log; uvicorn then prints the whole traceback, and a database error's text
quotes the statement's parameters and the database's detail (a record's values, a
password hash). So failures are caught here, inside Starlette's own catch-all, and never
get further: the log has the exception's type and the request id, which the answer says
too, so a report from a user can be matched with its line.
"""

import logging
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_response

log = logging.getLogger("carerounds")


class ContainFailures:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - every failure, logged without its text
            request_id = secrets.token_hex(6)
            log.error(  # not log.exception: its traceback would carry what this hides
                "unexpected server error %s (request %s %s, id %s)",
                type(exc).__name__,
                scope.get("method", ""),
                scope.get("path", ""),
                request_id,
            )
            if started:  # part of an answer went out: all that is left is to stop
                return
            response = error_response(
                500,
                "internal_error",
                f"The server failed; nothing was saved (request {request_id}).",
                headers={"X-Request-ID": request_id},
            )
            await response(scope, receive, send)
