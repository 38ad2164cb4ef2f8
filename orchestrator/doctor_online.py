"""The checks `convene doctor` makes over the network (`--offline` skips them all).

Each check answers with the problems it found, every one ending in the fix an operator can
make. A check whose setting is absent says nothing: the configuration checks report that.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import BaseModel

from connectors.clock import SystemClock
from orchestrator.settings import Settings, reveal

Echo = Callable[[str], None]
_TIMEOUT = 10.0


def slack_problems(settings: Settings, echo: Echo) -> list[str]:
    """`auth.test` with the bot token: the token is real, unrevoked, and for this workspace."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    token = reveal(settings.slack_bot_token)
    if not token:
        return []
    client = WebClient(token=token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    client.timeout = int(_TIMEOUT)
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "error")
        return [f"Slack refused the bot token ({error}): reinstall the app and copy its new token"]
    except Exception as exc:  # noqa: BLE001 - any transport failure is one line
        return [f"Slack unreachable ({type(exc).__name__}): check outbound HTTPS to slack.com"]
    echo(f"  slack auth.test ok: team {answer.get('team_id')}, bot {answer.get('user_id')}")
    return []


def redirect_problems(settings: Settings, echo: Echo) -> list[str]:
    """The OAuth redirect URL: absolute https (loopback aside), and it reaches this app."""
    if not settings.public_url or not settings.oauth_providers():
        return []
    parts = urlsplit(settings.public_url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not loopback:
        return [
            f"PUBLIC_URL {settings.public_url} is not https: providers accept only https "
            "redirect URLs; put convene behind TLS and set PUBLIC_URL=https://…"
        ]
    if parts.query or parts.fragment or not parts.hostname:
        return [f"PUBLIC_URL {settings.public_url} must be a bare base URL, e.g. https://host"]
    base = settings.public_url.rstrip("/")
    for provider in settings.oauth_providers():
        echo(f"  oauth redirect for {provider}: {base}/oauth/{provider}/callback (register it)")
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=_TIMEOUT) as response:
            if response.status == 200:
                return []
            status = str(response.status)
    except urllib.error.HTTPError as exc:
        status = str(exc.code)
    except Exception as exc:  # noqa: BLE001
        status = type(exc).__name__
    return [
        f"{base}/healthz answered {status}: the OAuth redirect would not reach convene web; "
        "point PUBLIC_URL at it (DNS, reverse proxy)"
    ]


def mail_problems(settings: Settings, echo: Echo, *, rep_email: str | None) -> list[str]:
    """Log in to SMTP and IMAP as a rep would (`{email}` logins need a rep to stand for)."""
    if settings.mail_backend != "smtp" or settings.smtp_errors():
        return []
    from connectors.errors import PermanentError, TransientError
    from orchestrator.providers import smtp_mailbox

    logins = f"{settings.smtp_username or ''}{settings.imap_username or ''}"
    if "{email}" in logins and rep_email is None:
        echo("  smtp/imap login not checked: the login has {email} and no rep is set up yet")
        return []
    box = smtp_mailbox(settings, clock=SystemClock(), rep_email=rep_email or "")
    try:
        box.check_login()
    except (PermanentError, TransientError) as exc:
        return [f"{exc}: check SMTP_*/IMAP_* host, port, security and login"]
    echo(f"  smtp {settings.smtp_host} and imap {settings.imap_host}: login ok")
    return []


class _Ping(BaseModel):
    ok: bool


def model_problems(settings: Settings, echo: Echo) -> list[str]:
    """One tiny structured call to the configured model, as the reply reader makes them."""
    if settings.llm_model == "rules":
        return []
    from connectors.llm import LLMError
    from orchestrator.llm_budget import llm_client

    client = llm_client(settings)
    if client is None:
        return []
    try:
        client.complete(
            system='Answer with the JSON object {"ok": true}.',
            user="ping",
            schema=_Ping,
            purpose="doctor",
        )
    except LLMError as exc:
        return [
            f"model {settings.llm_model} failed ({type(exc).__name__}: {exc}): check LLM_MODEL, "
            "LLM_API_BASE and LLM_API_KEY, or set LLM_MODEL=rules"
        ]
    echo(f"  model {settings.llm_model}: answered")
    return []
