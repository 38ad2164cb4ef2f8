"""The `Convene-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.

The timestamp is signed with the body, so a receiver can refuse an old delivery replayed at
it; the README shows receivers the matching check.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Convene-Signature"
DELIVERY_HEADER = "Convene-Delivery-Id"


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
