"""A request that fails unexpectedly: a 500 with a request id, and a log line without data.

Starlette hands an exception to its handler for `Exception` and then raises it again, for
the server to log; uvicorn then prints the whole traceback, and a database error's text
quotes the statement's parameters and the database's detail (a record's values, a
password hash). So failures are caught here, inside Starlette's own catch-all, and never
get further: the log has the exception's type and the request id, which the answer says
too, so a report from a user can be matched with its line.

A failure that only says the database is away (PostgreSQL restarting or unreachable, a
connection cut, SQLite locked past its busy timeout) is not the server's fault and passes:
it is answered `503 database_unavailable` with `Retry-After`, for the client to try again
later. The request's transaction did not commit (it rolled back, or the database dropped
it), except in one case: the connection lost in the instant of a commit, which a push
sent again finds (its changes are answered `duplicate`). The engine throws the broken
connection away and opens new ones once the database is back.
"""

import logging
import secrets
import sqlite3

import psycopg
from sqlalchemy import exc as sa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_response

log = logging.getLogger("carerounds")

# SQLSTATEs that say the database went away or would not take the connection: PostgreSQL
# shutting down or restarting (admin_shutdown, crash_shutdown, cannot_connect_now) and too
# many connections. Class 08 (connection exceptions) is matched as a class.
UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached now, rather
    than that a statement was wrong: worth the client's trying again in a moment."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if _says_unavailable(error):
            return True
        todo += [error.__cause__, error.__context__]
        if isinstance(error, sa.DBAPIError):
            todo.append(error.orig)
    return False


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True  # SQLAlchemy saw the connection drop (and threw it away)
    if isinstance(error, sa.DisconnectionError | sa.TimeoutError):
        return True  # the pool could not hand out a working connection in time
    if isinstance(error, psycopg.errors.PipelineAborted):
        return False  # an earlier statement failed: that one says why (its context)
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        # No SQLSTATE: the failure was the connection's own (refused, reset, closed).
        return state is None or state.startswith("08") or state in UNAVAILABLE_STATES
    if isinstance(error, psycopg.InterfaceError):
        return "closed" in str(error)  # "the connection is closed"
    if isinstance(error, sqlite3.OperationalError):
        return "database is locked" in str(error) or "database is busy" in str(error)
    return False


class ContainFailures:
    def __init__(self, app: ASGIApp, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        self.app = app
        self.retry_after = retry_after

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
            if database_unavailable(exc):
                await self._unavailable(exc, scope, receive, send, request_id, started)
                return
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

    async def _unavailable(
        self,
        exc: Exception,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        started: bool,
    ) -> None:
        log.warning(  # the type only, as above: a driver's text may quote a statement
            "database unavailable: %s (request %s %s, id %s); answered 503",
            type(exc).__name__,
            scope.get("method", ""),
            scope.get("path", ""),
            request_id,
        )
        if started:
            return
        response = error_response(
            503,
            "database_unavailable",
            "The server cannot reach its database just now; try again in "
            f"{self.retry_after} s (request {request_id}). Sending the same changes again "
            "is safe.",
            headers={"Retry-After": str(self.retry_after), "X-Request-ID": request_id},
        )
        await response(scope, receive, send)
