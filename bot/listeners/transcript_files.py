"""A transcript file (.vtt, .srt or .txt) the rep drops in their DM with Convene, with the
meeting's reference in the message ("ACME-12"), is read like a pasted or posted one.

Slack acks the event before this runs. The file is fetched with the bot's token from the
download address `files.info` gives, and only from Slack's own file host (or the configured
Slack API host), so no event can send the token anywhere else; redirects are not followed.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import structlog
from slack_bolt import App
from slack_sdk import WebClient

from orchestrator.commands.transcripts import MeetingRef, paste_allowed, receive_transcript
from orchestrator.deps import Deps
from orchestrator.settings import Settings, reveal

log = structlog.get_logger(__name__)

REF = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,15}-\d{1,7})\b")
FORMATS = ("vtt", "srt", "txt")
MAX_FILE = 2 * 1024 * 1024
MAX_FILES = 3  # per message
SLACK_FILES = "files.slack.com"

NOT_A_TRANSCRIPT = "I read transcripts from .vtt, .srt or .txt files."
WHICH_MEETING = (
    "Which meeting is this the transcript of? Upload it again with the meeting's reference in "
    "the message, e.g. `ACME-12` (`/schedule list` shows yours)."
)


def register(app: App, deps: Deps) -> None:
    @app.event({"type": "message", "subtype": "file_share"})
    def on_file(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return  # only what the rep shares with Convene itself
        take_files(deps, client, event, team_id=str(body.get("team_id") or ""))


def take_files(deps: Deps, client: WebClient, event: dict[str, Any], *, team_id: str) -> None:
    channel, user = str(event.get("channel") or ""), str(event.get("user") or "")

    def say(text: str) -> None:
        client.chat_postMessage(channel=channel, text=text)

    files = [f for f in event.get("files") or [] if _format(f.get("name")) is not None]
    if not files:
        say(NOT_A_TRANSCRIPT)
        return
    named = REF.search(str(event.get("text") or ""))
    if named is None:
        say(WHICH_MEETING)
        return
    ref = named.group(1).upper()
    refused = paste_allowed(deps, org_id=team_id, ref=ref, slack_user_id=user)
    if refused is not None:
        say(refused)
        return
    for shared in files[:MAX_FILES]:
        say(_take(deps, client, shared, ref=ref, team_id=team_id))


def _take(deps: Deps, client: WebClient, shared: dict[str, Any], *, ref: str, team_id: str) -> str:
    name = str(shared.get("name") or "transcript")
    try:
        info = client.files_info(file=str(shared["id"]))["file"]
    except Exception as exc:  # noqa: BLE001 - the rep is told; nothing was read
        log.warning("transcript_file_info_failed", error=repr(exc))
        return f"I couldn't open `{name}` just now; upload it again in a minute."
    if int(info.get("size") or 0) > MAX_FILE:
        return f"`{name}` is over 2 MB: send a shorter excerpt, or have your recorder post it."
    url = str(info.get("url_private_download") or "")
    if not _from_slack(url, deps.settings):
        log.warning("transcript_file_host_refused", host=urlsplit(url).hostname)
        return f"I couldn't open `{name}`: it isn't on Slack's file host."
    try:
        content = _download(url, token=reveal(deps.settings.slack_bot_token) or "")
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        log.warning("transcript_file_download_failed", error=repr(exc))
        return f"I couldn't download `{name}` just now; upload it again in a minute."
    received = receive_transcript(
        deps,
        source_id=f"slack-file:{shared['id']}",
        meeting=MeetingRef(ref=ref, org_id=team_id),
        text=content.decode("utf-8", "replace"),
        fmt=_format(name),
    )
    if received.outcome == "duplicate":
        return f"`{name}` was already read for {ref}."
    if received.outcome != "started":
        return f"I couldn't find `{ref}`. `/schedule list` shows yours."
    return f"Reading `{name}` for {ref}: the recap draft and any next meetings follow here."


def _format(name: object) -> str | None:
    suffix = str(name or "").rsplit(".", 1)[-1].lower()
    return suffix if suffix in FORMATS else None


def _from_slack(url: str, settings: Settings) -> bool:
    parts = urlsplit(url)
    if (parts.scheme, parts.hostname, parts.port) == ("https", SLACK_FILES, None):
        return True
    if settings.slack_api_url:  # a Slack stand-in (SLACK_API_URL) serves its files itself
        api = urlsplit(settings.slack_api_url)
        return (parts.scheme, parts.hostname, parts.port) == (api.scheme, api.hostname, api.port)
    return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the token goes to the address Slack gave, nowhere else


def _download(url: str, *, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    opener = urllib.request.build_opener(_NoRedirects())
    with opener.open(request, timeout=15) as answer:
        content: bytes = answer.read(MAX_FILE + 1)
    if len(content) > MAX_FILE:
        raise ValueError("the file is larger than it said")
    return content
