"""The lead's school office: staff accounts, which live on the server only.

Passwords and accounts are never synced to phones, so this part of the lead's work needs
the network; everything else the lead manages is a synced record and works offline. The
staff list last read is kept (encrypted) on the phone so that names show offline.
"""

from typing import Any
from urllib.parse import quote

from client.sync_engine import Offline, ServerTrouble, SignInRequired, SyncError
from client.transport import Transport, TransportError


class SchoolOffice:
    """The administration API's staff routes, with errors as the sync engine's."""

    def __init__(self, transport: Transport, token: str) -> None:
        self.transport = transport
        self.token = token

    def staff(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/api/v1/admin/users")
        return found if isinstance(found, list) else []

    def add_person(
        self, username: str, display_name: str, role: str, password: str
    ) -> dict[str, Any]:
        body = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "password": password,
        }
        return dict(self._call("POST", "/api/v1/admin/users", body))

    def update_person(self, user_id: str, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/api/v1/admin/users/{user_id}", changes))

    def devices(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/api/v1/admin/devices")
        return found if isinstance(found, list) else []

    def revoke_device(self, device_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/admin/devices/{quote(device_id)}/revoke"))

    def report(self, path: str) -> dict[str, Any]:
        """A report's JSON."""
        body = self._call("GET", path)
        return body if isinstance(body, dict) else {}

    def file(self, path: str) -> bytes:
        """A report file (PDF, CSV, XLSX) as the server made it."""
        body = self._call("GET", path)
        if not isinstance(body, bytes):
            raise SyncError("invalid_value", "the server sent no file")
        return body

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            reply = self.transport.request(method, path, body, self.token)
        except TransportError as exc:
            raise Offline("offline", str(exc)) from exc
        if reply.ok:
            return reply.body
        code = reply.error_code or "internal_error"
        message = reply.error_message
        if reply.status == 401:
            raise SignInRequired(code, message)
        if reply.status >= 500:
            raise ServerTrouble(code, message, reply.retry_after)
        raise SyncError(code, message)
