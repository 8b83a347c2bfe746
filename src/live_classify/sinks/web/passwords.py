"""Password hashes for ``--serve-users``: scrypt from the standard library, written in the PHC string
format (``$scrypt$ln=15,r=8,p=1$<salt>$<hash>``, base64 without padding, as passlib writes it), so the
file says how each hash was made and a later, costlier setting checks the older hashes still."""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets

LOG_N, R, P = 15, 8, 1  # 2**15 * 128 * 8 bytes = 32 MiB and ~0.1 s a hash: a guess costs as much
SALT_BYTES, HASH_BYTES = 16, 32
_PHC = re.compile(r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


class BadHash(ValueError):
    """A ``password-hash`` that is no scrypt hash (the message says why, never the value)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int, size: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(password.encode("utf-8", "surrogateescape"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + (1 << 20), dklen=size)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``password``'s hash with a fresh random salt, in the PHC format."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, LOG_N, R, P, HASH_BYTES)
    return f"$scrypt$ln={LOG_N},r={R},p={P}${_b64(salt)}${_b64(digest)}"


def parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """(log2 N, r, p, salt, hash) of an encoded hash; BadHash saying what is wrong with it."""
    if not encoded.startswith("$"):
        raise BadHash("is not a hash (a plain-text password?): store the hash `live-classify passwd` prints")
    match = _PHC.fullmatch(encoded)
    if match is None:
        raise BadHash("is not an scrypt hash as `live-classify passwd` prints it ($scrypt$ln=..,r=..,p=..$SALT$HASH)")
    log_n, r, p = (int(match[i]) for i in (1, 2, 3))
    try:
        salt, digest = _unb64(match[4]), _unb64(match[5])
    except binascii.Error:
        raise BadHash("has a salt or hash that is not base64") from None
    if not (10 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16):
        raise BadHash("has scrypt settings out of range (ln 10-20, r 1-32, p 1-16)")
    if len(salt) < 8 or len(digest) < 16:
        raise BadHash("has a salt under 8 bytes or a hash under 16 bytes")
    return log_n, r, p, salt, digest


def check_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from (a hash that cannot be read: False)."""
    try:
        log_n, r, p, salt, digest = parse(encoded)
    except BadHash:
        return False
    return hmac.compare_digest(_scrypt(password, salt, log_n, r, p, len(digest)), digest)


@functools.cache
def dummy() -> str:
    """A hash checked when the name is unknown: an unknown name takes as long as a known one."""
    return hash_password(secrets.token_urlsafe(16))
