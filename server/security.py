"""Password hashes (argon2 via pwdlib) and opaque bearer tokens stored as hashes."""

import hashlib
import os
import secrets
import unicodedata

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

# argon2id at pwdlib's defaults (64 MiB, 3 passes). The environment may lower the cost for
# test suites only; hashes keep their own parameters, so verifying is never weakened.
_hasher = PasswordHash(
    (
        Argon2Hasher(
            time_cost=int(os.environ.get("CAREROUNDS_ARGON2_TIME_COST", "3")),
            memory_cost=int(os.environ.get("CAREROUNDS_ARGON2_MEMORY_KIB", "65536")),
            parallelism=int(os.environ.get("CAREROUNDS_ARGON2_PARALLELISM", "4")),
        ),
    )
)
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check a password; returns (ok, new hash when the stored one should be upgraded)."""
    ok, updated = _hasher.verify_and_update(password, password_hash or _DUMMY_HASH)
    return (ok and password_hash is not None), updated


def username_key(username: str) -> str:
    """The form two usernames are compared in: NFKC (full-width → ASCII) and case-folded."""
    return unicodedata.normalize("NFKC", username).casefold()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; no salt or pepper is needed.
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    """A one-time password a lead can read out or print: 4 groups, no look-alike letters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
