"""A local OAuth 2.0 authorization server: the consent step and the token endpoint.

``authorize(url)`` plays the rep clicking "Allow" on the consent screen for the link Convene
produced: it checks the query (client, redirect, scopes, S256 challenge, state) and returns the
code and state the browser would bring back to our callback. ``POST /token`` then checks what a
real server checks: client credentials, the code's redirect_uri, the PKCE verifier, single use;
refresh grants rotate access tokens and answer ``invalid_grant`` once revoked.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from tests.fakes.http import ProviderFake, Request, Response


@dataclass
class _Grant:
    redirect_uri: str
    challenge: str
    scopes: str
    used: bool = False


class FakeOAuthServer(ProviderFake):
    def __init__(
        self,
        *,
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        expected_scopes: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.expected_scopes = expected_scopes
        self.granted_scope_override: str | None = None  # simulate unticked permissions
        self.omit_scope = False  # Google sometimes answers without `scope`
        self._grants: dict[str, _Grant] = {}
        self.refresh_tokens: dict[str, bool] = {}  # token -> still valid
        self._serial = itertools.count(1)

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def authorize_url(self) -> str:
        return self.url + "/authorize"

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
            assert tuple(query["scope"].split()) == self.expected_scopes, query["scope"]
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
        if (request.method, request.path) != ("POST", "/token"):
            return Response(404, {"error": "not_found"})
        form = request.body or {}
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return Response(400, {"error": "invalid_request", "error_description": "form expected"})
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return Response(401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            return self._code(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        return Response(400, {"error": "unsupported_grant_type"})

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
