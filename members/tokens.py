"""Invitation link tokens: derived, never stored.

token = base64url(HMAC-SHA256(SECRET_KEY, nonce)); the database keeps the nonce and
SHA-256(token). A copy of the database alone cannot produce a working link, and the
email task can rebuild the link from the invitation's id alone.
"""

import base64
import hashlib
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "members.invitation-token"


def new_nonce() -> str:
    return secrets.token_hex(32)


def token_for(nonce: str) -> str:
    digest = salted_hmac(_SALT, nonce, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(nonce: str, token_hash: str) -> bool:
    """Tell whether the nonce still yields the stored hash (not after a key change)."""
    return constant_time_compare(hash_token(token_for(nonce)), token_hash)
