"""The pull cursor: where a device is in the change log, and what it was subscribed to.

Opaque to clients; signed with a per-database key, so the subscription it carries can be
trusted when the server works out what to remove from a device and what to backfill.
"""

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.errors import ApiError
from server.sync.scopes import Subscription


@dataclass
class Phase:
    """Catching up after the subscription changed: removals first, then backfill."""

    kind: str  # "remove" | "backfill"
    subs: frozenset[Subscription]
    upto: int  # records numbered up to here were (or should have been) on the device
    after: int = 0  # progress through them, by seq


@dataclass
class CursorState:
    user_id: uuid.UUID
    seq: int
    subs: frozenset[Subscription]
    phases: list[Phase] = field(default_factory=list)


def _subs_json(subs: frozenset[Subscription]) -> list[str]:
    return sorted(s.encode() for s in subs)


def _subs_from(items: list[str]) -> frozenset[Subscription]:
    return frozenset(Subscription.decode(s) for s in items)


def encode(state: CursorState, key: bytes) -> str:
    payload: dict[str, Any] = {
        "v": 1,
        "u": str(state.user_id),
        "s": state.seq,
        "sub": _subs_json(state.subs),
        "ph": [
            {"k": p.kind, "sub": _subs_json(p.subs), "upto": p.upto, "after": p.after}
            for p in state.phases
        ],
    }
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return f"{body.decode()}.{base64.urlsafe_b64encode(mac).decode()}"


def decode(cursor: str, key: bytes, user_id: uuid.UUID) -> CursorState:
    """The state in a cursor this server made for this user, or `422 invalid_cursor`."""
    body, _, mac = cursor.partition(".")
    try:
        expected = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(base64.urlsafe_b64decode(mac.encode()), expected):
            raise ValueError("signature")
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
        state = CursorState(
            user_id=uuid.UUID(payload["u"]),
            seq=int(payload["s"]),
            subs=_subs_from(payload["sub"]),
            phases=[
                Phase(p["k"], _subs_from(p["sub"]), int(p["upto"]), int(p["after"]))
                for p in payload["ph"]
            ],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(
            422, "invalid_cursor", "This cursor was not made by this server; pull from null."
        ) from exc
    if state.user_id != user_id:
        raise ApiError(
            422, "invalid_cursor", "This cursor belongs to another user; pull from null."
        )
    return state
