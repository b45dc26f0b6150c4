"""The shape of an API key: `<prefix>_<secret>_<checksum>`.

The secret is 32 base62 characters drawn from 190 random bits; the checksum is six
base62 characters of a CRC-32 over prefix and secret. Secret scanners can match the
pattern, and a mistyped or truncated key is refused by `parse_key` without touching
the database. Only the SHA-256 of the whole key is stored: with this much entropy a
fast hash is as strong as a slow one and verifies in under a microsecond.
"""

import hashlib
import hmac
import secrets
import string
import zlib

from django.conf import settings

ALPHABET = string.digits + string.ascii_letters
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(prefix: str, secret: str) -> str:
    return _base62(zlib.crc32(f"{prefix}_{secret}".encode()), CHECKSUM_LENGTH)


def generate_key() -> str:
    """Return a new key; it is shown once and never stored."""
    prefix = settings.API_KEY_PREFIX
    secret = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
    return f"{prefix}_{secret}_{_checksum(prefix, secret)}"


def parse_key(candidate: str) -> str | None:
    """Return the key if it is well formed (prefix, length, alphabet, checksum)."""
    prefix = settings.API_KEY_PREFIX
    expected_length = len(prefix) + SECRET_LENGTH + CHECKSUM_LENGTH + 2
    if len(candidate) != expected_length or not candidate.startswith(prefix + "_"):
        return None
    body = candidate[len(prefix) + 1 :]
    secret, separator, checksum = (
        body[:SECRET_LENGTH],
        body[SECRET_LENGTH],
        body[SECRET_LENGTH + 1 :],
    )
    if separator != "_" or not _ALPHABET_SET.issuperset(secret):
        return None
    if not hmac.compare_digest(checksum, _checksum(prefix, secret)):
        return None
    return candidate


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hashes_match(stored_hash: str, key: str) -> bool:
    """Compare in constant time, so that timing says nothing about the secret."""
    return hmac.compare_digest(stored_hash, hash_key(key))


def last_four(key: str) -> str:
    return key[-4:]
