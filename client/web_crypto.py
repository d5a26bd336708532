"""`Crypto` inside the browser: AES-256-GCM through WebCrypto, Scrypt through hash-wasm.

The format is `client.native_crypto`'s byte for byte (hash-wasm's Scrypt gives what
`cryptography`'s gives for the same parameters), so a store sealed in the browser opens on
a phone and back. WebCrypto only answers with promises; `run_sync` (JavaScript Promise
Integration) waits for them from the synchronous store code, so no thread is needed. A
call costs about half a millisecond whatever it carries, so values go in batches: the
store seals and opens a pulled page or a list of records in one call.

Only importable inside Pyodide.
"""

import os
from collections.abc import Sequence
from typing import Any

from pyodide.code import run_js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, run_sync, to_js  # type: ignore[import-not-found]

from client.crypto import (
    KEY_BYTES,
    NONCE_BYTES,
    VERSION,
    IntegrityError,
    ScryptParams,
    check_sealed,
)

# Beside the app's files: the build copies hash-wasm's ES module there (pwa/build.py).
SCRYPT_MODULE = "vendor/hash-wasm.mjs"

_HELPERS = """
(() => {
  const subtle = globalThis.crypto.subtle;
  let hashWasm = null;
  const split = (joined, lengths) => {
    const parts = []; let at = 0;
    for (const n of lengths) { parts.push(joined.subarray(at, at + n)); at += n; }
    return parts;
  };
  const join = (parts) => {
    const lengths = parts.map((p) => p.byteLength);
    const out = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const p of parts) { out.set(new Uint8Array(p), at); at += p.byteLength; }
    return [out, lengths];
  };
  return {
    importKey: (raw) =>
      subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]),
    // Each item: iv, data, additionalData, cut out of three joined buffers.
    async run(op, key, ivs, ivLengths, data, dataLengths, ads, adLengths) {
      const iv = split(ivs, ivLengths), body = split(data, dataLengths);
      const ad = split(ads, adLengths);
      const done = await Promise.all(body.map((b, i) =>
        subtle[op]({ name: "AES-GCM", iv: iv[i], additionalData: ad[i], tagLength: 128 },
                   key, b)));
      return join(done);
    },
    async scrypt(url, password, salt, n, r, p, length) {
      if (hashWasm === null) {
        hashWasm = await import(new URL(url, globalThis.location.href).href);
      }
      return hashWasm.scrypt({ password, salt, costFactor: n, blockSize: r,
                               parallelism: p, hashLength: length, outputType: "binary" });
    },
  };
})()
"""


def _joined(parts: Sequence[bytes]) -> tuple[Any, Any]:
    return to_js(b"".join(parts)), to_js([len(part) for part in parts])


class WebCryptoBackend:
    """`Crypto` in the browser; keeps the imported key (a non-extractable CryptoKey)."""

    def __init__(self, scrypt_module: str = SCRYPT_MODULE) -> None:
        self._js: Any = run_js(_HELPERS)
        self._scrypt_module = scrypt_module
        self._key: tuple[bytes, Any] | None = None

    def new_key(self) -> bytes:
        return os.urandom(KEY_BYTES)  # crypto.getRandomValues underneath

    def forget(self) -> None:
        self._key = None

    def _crypto_key(self, key: bytes) -> Any:
        if self._key is None or self._key[0] != key:
            self._key = (key, run_sync(self._js.importKey(to_js(key))))
        return self._key[1]

    def _run(
        self, op: str, key: bytes, nonces: list[bytes], data: list[bytes], ads: list[bytes]
    ) -> list[bytes]:
        if not data:
            return []
        crypto_key = self._crypto_key(key)
        try:
            joined, lengths = run_sync(
                self._js.run(op, crypto_key, *_joined(nonces), *_joined(data), *_joined(ads))
            )
        except JsException as exc:
            raise IntegrityError("the value was altered or does not belong here") from exc
        out: bytes = joined.to_bytes()
        parts, at = [], 0
        for length in lengths.to_py():
            parts.append(out[at : at + length])
            at += length
        return parts

    def seal(self, key: bytes, plaintext: bytes, associated: bytes) -> bytes:
        return self.seal_many(key, [(plaintext, associated)])[0]

    def open(self, key: bytes, sealed: bytes, associated: bytes) -> bytes:
        return self.open_many(key, [(sealed, associated)])[0]

    def seal_many(self, key: bytes, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        nonces = [os.urandom(NONCE_BYTES) for _ in items]
        bodies = self._run(
            "encrypt", key, nonces, [plain for plain, _ in items], [ad for _, ad in items]
        )
        return [VERSION + nonce + body for nonce, body in zip(nonces, bodies, strict=True)]

    def open_many(self, key: bytes, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        split = [check_sealed(sealed) for sealed, _ in items]
        return self._run(
            "decrypt",
            key,
            [nonce for nonce, _ in split],
            [body for _, body in split],
            [ad for _, ad in items],
        )

    def derive(self, secret: str, salt: bytes, params: ScryptParams) -> bytes:
        derived = run_sync(
            self._js.scrypt(
                self._scrypt_module,
                to_js(secret.encode()),
                to_js(salt),
                params.n,
                params.r,
                params.p,
                KEY_BYTES,
            )
        )
        return bytes(derived.to_bytes())
