"""Encryption at rest behind a small interface, so the browser build can swap in WebCrypto.

Only primitives present in cryptography 43 are used (Flet's phone builds ship that
version): AES-256-GCM and Scrypt.
"""

import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

NONCE_BYTES = 12
KEY_BYTES = 32
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


class CryptographyBackend:
    """`Crypto` on the `cryptography` package (desktop and phone builds)."""

    def __init__(self) -> None:
        self._ciphers: dict[bytes, AESGCM] = {}

    def new_key(self) -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            self._ciphers = {key: AESGCM(key)}  # one key in use at a time
            cipher = self._ciphers[key]
        return cipher

    def forget(self) -> None:
        """Drop cached key schedules (on lock)."""
        self._ciphers = {}

    def seal(self, key: bytes, plaintext: bytes, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._cipher(key).encrypt(nonce, plaintext, associated)

    def open(self, key: bytes, sealed: bytes, associated: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
            raise IntegrityError("not a sealed value")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._cipher(key).decrypt(nonce, body, associated)
        except InvalidTag as exc:
            raise IntegrityError("the value was altered or does not belong here") from exc

    def derive(self, secret: str, salt: bytes, params: ScryptParams) -> bytes:
        kdf = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p)
        return kdf.derive(secret.encode())
