"""`Crypto` on the `cryptography` package (desktop, phone builds, server-side web client).

Only primitives present in cryptography 43 are used (Flet's phone builds ship that
version): AES-256-GCM and Scrypt.
"""

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from client.crypto import (
    KEY_BYTES,
    NONCE_BYTES,
    VERSION,
    IntegrityError,
    ScryptParams,
    check_sealed,
)


class CryptographyBackend:
    """`Crypto` on the `cryptography` package."""

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
        nonce, body = check_sealed(sealed)
        try:
            return self._cipher(key).decrypt(nonce, body, associated)
        except InvalidTag as exc:
            raise IntegrityError("the value was altered or does not belong here") from exc

    def derive(self, secret: str, salt: bytes, params: ScryptParams) -> bytes:
        kdf = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p)
        return kdf.derive(secret.encode())

    def seal_many(self, key: bytes, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        # A page of records at a time: the nonces drawn at once, each its own 96 bits.
        cipher = self._cipher(key)
        drawn = os.urandom(NONCE_BYTES * len(items))
        sealed = []
        for at, (plaintext, associated) in zip(
            range(0, len(drawn), NONCE_BYTES), items, strict=True
        ):
            head = VERSION + drawn[at : at + NONCE_BYTES]
            sealed.append(head + cipher.encrypt(head[1:], plaintext, associated))
        return sealed

    def open_many(self, key: bytes, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        return [self.open(key, sealed, associated) for sealed, associated in items]
