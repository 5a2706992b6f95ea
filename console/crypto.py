"""Encryption of stored S3 secrets (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """The stored secret cannot be read with the configured key."""


def _fernet() -> Fernet:
    key = settings.CONSOLE_ENCRYPTION_KEY
    if key:
        try:
            return Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                "CONSOLE_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
    # Derived from SECRET_KEY with a purpose string, so the raw SECRET_KEY is never the cipher key.
    digest = hashlib.sha256(b"s3-console/endpoint-secrets/" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "The stored secret key cannot be decrypted: CONSOLE_ENCRYPTION_KEY or SECRET_KEY changed. "
            "Enter the key pair again."
        ) from None


def _purpose_fernet(purpose: str) -> Fernet:
    digest = hashlib.sha256(f"s3-console/{purpose}/".encode() + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(purpose: str, plaintext: str) -> str:
    """Encrypt a short value handed to the browser (a listing position) so that it reads nothing in it."""
    return _purpose_fernet(purpose).encrypt(plaintext.encode()).decode()


def unseal(purpose: str, token: str, max_age: int | None = None) -> str | None:
    """The value of a sealed token, or None when it was not made by this console for this purpose."""
    try:
        return _purpose_fernet(purpose).decrypt(token.encode(), ttl=max_age).decode()
    except (InvalidToken, ValueError):
        return None
