"""A local OAuth 2.0 authorization server: the consent step and the token endpoint, laid out
like Google's (``/authorize``, ``/token``) or, given a ``tenant``, like Microsoft's identity
platform (``/{tenant}/oauth2/v2.0/…`` and the OpenID discovery document msal reads first).

``authorize(url)`` plays the rep clicking "Allow" on the consent screen for the link Convene
produced: it checks the query (client, redirect, scopes, S256 challenge, state) and returns the
code and state the browser would bring back to our callback. ``POST …/token`` then checks what a
real server checks: client credentials (HTTP Basic or the form, not both), the code's
redirect_uri, the PKCE verifier, single use; refresh grants rotate access tokens and answer
``invalid_grant`` once revoked.

It serves HTTPS, as msal and oauthlib insist, and the clients trust its certificate while it
runs (tests/fakes/tls.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qs, unquote_plus, urlparse

from tests.fakes.http import ProviderFake, Request, Response
from tests.fakes.tls import trusted


@dataclass
class _Grant:
    redirect_uri: str
    challenge: str
    scopes: str
    used: bool = False


class FakeOAuthServer(ProviderFake):
    tls = True

    def __init__(
        self,
        *,
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        expected_scopes: tuple[str, ...] = (),
        tenant: str | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.expected_scopes = expected_scopes
        self.tenant = tenant  # set: Microsoft's layout, under this tenant
        self.granted_scope_override: str | None = None  # simulate unticked permissions
        self.omit_scope = False  # Google sometimes answers without `scope`
        self._grants: dict[str, _Grant] = {}
        self.refresh_tokens: dict[str, bool] = {}  # token -> still valid
        self._serial = itertools.count(1)
        self._trust = ExitStack()

    def start(self) -> Self:
        self._trust.enter_context(trusted())
        return super().start()

    def close(self) -> None:
        super().close()
        self._trust.close()

    @property
    def _base(self) -> str:
        return f"/{self.tenant}/oauth2/v2.0" if self.tenant else ""

    @property
    def token_path(self) -> str:
        return self._base + "/token"

    @property
    def token_url(self) -> str:
        return self.url + self.token_path

    @property
    def authorize_url(self) -> str:
        return self.url + self._base + "/authorize"

    @property
    def discovery_path(self) -> str:
        return f"/{self.tenant}/v2.0/.well-known/openid-configuration"

    def authorize(self, link: str) -> dict[str, str]:
        """Consent: validate the link like the real server would and issue a code."""
        parsed = urlparse(link)
        assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == self.authorize_url, link
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        assert query["response_type"] == "code"
        assert query["client_id"] == self.client_id
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43
        if self.expected_scopes:
            # A scope parameter is a set (RFC 6749 3.3): msal sends it in no particular order.
            scopes = query["scope"].split()
            assert sorted(scopes) == sorted(self.expected_scopes), query["scope"]
        code = f"code-{next(self._serial)}"
        self._grants[code] = _Grant(
            redirect_uri=query["redirect_uri"],
            challenge=query["code_challenge"],
            scopes=query["scope"],
        )
        return {"code": code, "state": query["state"], "redirect_uri": query["redirect_uri"]}

    def revoke(self, refresh_token: str) -> None:
        self.refresh_tokens[refresh_token] = False

    def handle(self, request: Request) -> Response:
        if self.tenant and (request.method, request.path) == ("GET", self.discovery_path):
            return Response(200, self._discovery())
        if self.tenant and request.path.endswith("/.well-known/openid-configuration"):
            # What Microsoft answers for a tenant it does not know.
            return Response(400, {"error": "invalid_tenant", "error_description": "no tenant"})
        if (request.method, request.path) != ("POST", self.token_path):
            return Response(404, {"error": "not_found"})
        form = request.body or {}
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return Response(400, {"error": "invalid_request", "error_description": "form expected"})
        if self._client(request, form) != (self.client_id, self.client_secret):
            return Response(401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            return self._code(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        return Response(400, {"error": "unsupported_grant_type"})

    def _discovery(self) -> dict[str, object]:
        return {
            "issuer": f"{self.url}/{self.tenant}/v2.0",
            "authorization_endpoint": self.authorize_url,
            "token_endpoint": self.token_url,
            "response_modes_supported": ["query", "fragment", "form_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    @staticmethod
    def _client(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        """The client's credentials: HTTP Basic (form-encoded, RFC 6749 2.3.1) or the form."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return form.get("client_id"), form.get("client_secret")
        if "client_secret" in form:
            return None, None  # two ways of authenticating at once: refused
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id = unquote_plus(user)
        if form.get("client_id", client_id) != client_id:
            return None, None
        return client_id, unquote_plus(password)

    def _code(self, form: dict[str, str]) -> Response:
        grant = self._grants.get(form.get("code", ""))
        if grant is None or grant.used:
            return Response(400, {"error": "invalid_grant", "error_description": "Bad code"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return Response(400, {"error": "redirect_uri_mismatch"})
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if digest.rstrip(b"=").decode() != grant.challenge:
            return Response(400, {"error": "invalid_grant", "error_description": "PKCE mismatch"})
        grant.used = True
        n = next(self._serial)
        refresh = f"1//refresh-secret-{n}"
        self.refresh_tokens[refresh] = True
        body = {
            "access_token": f"ya29.access-secret-{n}",
            "refresh_token": refresh,
            "expires_in": 3599,
            "token_type": "Bearer",
        }
        if not self.omit_scope:
            body["scope"] = self.granted_scope_override or grant.scopes
        return Response(200, body)

    def _refresh(self, form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        if not self.refresh_tokens.get(token):
            return Response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        n = next(self._serial)
        return Response(
            200,
            {"access_token": f"ya29.refreshed-{n}", "expires_in": 3599, "token_type": "Bearer"},
        )
