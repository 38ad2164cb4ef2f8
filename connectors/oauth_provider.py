"""What :mod:`connectors.oauth` and each provider's library module share: a configured
provider, the error for a refusal, and which fields of a token answer are stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import PermanentError


class OAuthError(PermanentError):
    """The authorization server refused (bad code, wrong client, denied consent)."""


@dataclass(frozen=True)
class OAuthProvider:
    name: str  # "google" | "microsoft": also the credentials row's provider
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    # Google's endpoints; Microsoft's come from the discovery document under ``authority``.
    authorize_url: str = ""
    token_url: str = ""
    authority: str = ""  # Microsoft: the authority host and the tenant
    # Set when the scopes include the mailbox: a completed connection then moves the rep's mail.
    mail_provider: str | None = None


# What is kept of a token endpoint's answer. Not the ID token (who signed in: we know already),
# nor what the libraries add (requests-oauthlib's `expires_at` on the system clock, msal's
# bookkeeping); oauthlib hands `scope` back as a list.
_TOKEN_FIELDS = ("access_token", "refresh_token", "token_type", "expires_in", "scope")


def token_fields(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a token endpoint's answer that is stored."""
    if not answer.get("access_token"):
        raise OAuthError("token endpoint answer has no access_token")
    kept = {name: answer[name] for name in _TOKEN_FIELDS if answer.get(name) is not None}
    if isinstance(kept.get("scope"), list | tuple | set):
        kept["scope"] = " ".join(kept["scope"])
    return kept
