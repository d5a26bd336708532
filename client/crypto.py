"""Encryption at rest behind a small interface: one format, two implementations.

`client.native_crypto` (the `cryptography` package: desktop, phone builds, the server-side
web client) and `client.web_crypto` (WebCrypto and a WebAssembly Scrypt, inside the
browser) seal and derive byte for byte alike, so a store sealed by one opens with the other.

A sealed value is `VERSION | 96-bit nonce | AES-256-GCM ciphertext and tag`.
"""

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

NONCE_BYTES = 12
KEY_BYTES = 32
TAG_BYTES = 16
VERSION = b"\x01"  # first byte of every sealed value, so the format can change later


class IntegrityError(Exception):
    """A sealed value was altered, moved to another record, or opened with the wrong key."""


@dataclass(frozen=True)
class ScryptParams:
    """Memory-hard key derivation settings, stored beside each wrapped key."""

    n: int = 2**15
    r: int = 8
    p: int = 1

    def as_dict(self) -> dict[str, int]:
        return {"n": self.n, "r": self.r, "p": self.p}


# A PIN has far fewer possibilities than a password, so each guess is made to cost more.
PASSWORD_PARAMS = ScryptParams(n=2**15)
PIN_PARAMS = ScryptParams(n=2**17)


class Crypto(Protocol):
    def new_key(self) -> bytes: ...

    def seal(self, key: bytes, plaintext: bytes, associated: bytes) -> bytes: ...

    def open(self, key: bytes, sealed: bytes, associated: bytes) -> bytes: ...

    def derive(self, secret: str, salt: bytes, params: ScryptParams) -> bytes: ...

    def seal_many(self, key: bytes, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """`seal` for each (plaintext, associated) pair (one round trip in the browser)."""
        ...

    def open_many(self, key: bytes, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """`open` for each (sealed, associated) pair; IntegrityError if any fails."""
        ...

    def forget(self) -> None:
        """Drop whatever was kept of the key (on lock)."""
        ...


def check_sealed(sealed: bytes) -> tuple[bytes, bytes]:
    """The nonce and the ciphertext of a sealed value; IntegrityError if it is not one."""
    if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES or sealed[:1] != VERSION:
        raise IntegrityError("not a sealed value")
    return sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]


def default_crypto() -> Crypto:
    """WebCrypto inside the browser (Pyodide), else the `cryptography` package."""
    if sys.platform == "emscripten":
        from client.web_crypto import WebCryptoBackend

        return WebCryptoBackend()
    from client.native_crypto import CryptographyBackend

    return CryptographyBackend()
