"""The lead's school office: staff accounts, which live on the server only.

Passwords and accounts are never synced to phones, so this part of the lead's work needs
the network; everything else the lead manages is a synced record and works offline. The
staff list last read is kept (encrypted) on the phone so that names show offline.
"""

from collections.abc import Callable
from typing import Any

import httpx

from client.sync_engine import Offline, ServerTrouble, SignInRequired, SyncError

HttpFor = Callable[[str], httpx.Client]


def default_http(server_url: str) -> httpx.Client:
    return httpx.Client(base_url=server_url.rstrip("/"), timeout=15.0)


class SchoolOffice:
    """The administration API's staff routes, with errors as the sync engine's."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"}

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

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.http.request(method, path, json=body, headers=self.headers)
            payload = response.json() if response.content else {}
        except (httpx.TransportError, ValueError) as exc:
            raise Offline("offline", type(exc).__name__) from exc
        if response.is_success:
            return payload
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        code = str(error.get("code", "internal_error"))
        message = str(error.get("message", ""))
        if response.status_code == 401:
            raise SignInRequired(code, message)
        if response.status_code >= 500:
            raise ServerTrouble(code, message)
        raise SyncError(code, message)
