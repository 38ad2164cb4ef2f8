"""Google's token-signing certificates, served locally, and the OIDC tokens Pub/Sub push
subscriptions put on their requests, signed with a test RSA key (or a forger's)."""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from tests.fakes.http import FakeHTTP, Request, Response

SERVICE_ACCOUNT = "gmail-push@convene-test.iam.gserviceaccount.com"
AUDIENCE = "https://convene.example/webhooks/gmail"


def _private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class FakeGoogleCerts:
    """Serves ``{key id: public key PEM}`` at ``certs_url`` as Google's oauth2/v1/certs does."""

    def __init__(self) -> None:
        self.key_id = "test-key-1"
        self._private = _private_pem()
        self.http = FakeHTTP()
        self.http.route("GET", "/oauth2/v1/certs", self._certs)
        self.certs_url = f"{self.http.url}/oauth2/v1/certs"

    def rotate(self) -> None:
        """Google signs with a new key from now on (and publishes only that one)."""
        self.key_id = f"test-key-{int(self.key_id.rsplit('-', 1)[1]) + 1}"
        self._private = _private_pem()

    def _certs(self, req: Request) -> Response:
        return Response(200, {self.key_id: _public_pem(self._private)})

    def token(
        self,
        *,
        audience: str = AUDIENCE,
        email: str = SERVICE_ACCOUNT,
        email_verified: bool = True,
        issuer: str = "https://accounts.google.com",
        expires_in: int = 3600,
        forged: bool = False,
    ) -> str:
        """A token as Pub/Sub mints it; ``forged`` signs with a key Google never published
        (under Google's key id)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "azp": "1234567890",
            "sub": "1234567890",
            "email": email,
            "email_verified": email_verified,
            "iat": now - 60 if expires_in > 0 else now - 7200,
            "exp": now + expires_in,
        }
        key = _private_pem() if forged else self._private
        signer = crypt.RSASigner.from_string(key, key_id=self.key_id)
        return jwt.encode(signer, claims).decode()

    def close(self) -> None:
        self.http.close()
