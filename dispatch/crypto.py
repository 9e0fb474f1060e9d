"""Customer data at rest: Fernet encryption with key rotation, a keyed blind index for phone look-ups, masking."""

import hashlib
import hmac
from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from dispatch.exceptions import InvalidPhone


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    """Return the Fernet token of `text` (random IV: the same text never encrypts to the same token twice)."""
    return _current().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Return the plaintext of a token made with any configured key; raises InvalidToken for anything else."""
    return _current().decrypt(token.encode("ascii")).decode()


def rotate(token: str) -> str:
    """Return the token re-encrypted with the first (newest) key."""
    return _current().rotate(token.encode("ascii")).decode("ascii")


def normalize_phone(raw: str) -> str:
    """Return the number in E.164 (mainland numbers may be written without +86); raises InvalidPhone."""
    try:
        number = phonenumbers.parse(raw or "", settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(raw) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_index(e164: str) -> str:
    """Return the blind index of a normalized number: HMAC-SHA256 under BLIND_INDEX_KEY, hex."""
    return hmac.new(settings.BLIND_INDEX_KEY.encode(), e164.encode(), hashlib.sha256).hexdigest()


def mask_phone(e164: str) -> str:
    """Return the number as staff without a need to know see it: 138****5678 (national form, middle hidden)."""
    national = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(ch for ch in national if ch.isdigit())
    if len(digits) <= 7:
        return digits[:2] + "*" * max(len(digits) - 4, 0) + digits[-2:]
    return f"{digits[:3]}****{digits[-4:]}"


__all__ = ["InvalidToken", "decrypt", "encrypt", "mask_phone", "normalize_phone", "phone_index", "rotate"]
