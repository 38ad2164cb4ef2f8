"""A meeting transcript read into speaker turns: WebVTT, SubRip or plain text.

Pure: text in, :class:`Turn` list out. Recorders disagree on layout, so the reading is lenient
and never raises: cue numbers and timestamps are dropped, a VTT voice tag (``<v Rita Moreno>``)
or a leading label (``Rita Moreno:``, ``[00:01:02] Rita Moreno:``) names the speaker, a line
with no label continues the last speaker's turn, and consecutive cues of one speaker are joined
(recorders cut sentences at cue boundaries). Anything else, markup included, is plain words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Format = Literal["vtt", "srt", "txt"]
FORMATS: tuple[Format, ...] = ("vtt", "srt", "txt")

# The most text read: a long meeting is ~100k characters; past the cap the rest is ignored so a
# hostile body costs bounded time.
MAX_TRANSCRIPT_CHARS = 1_000_000

_TIMING = re.compile(
    r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?\s*-->\s*(?:\d{1,2}:)?\d{1,2}:\d{2}"
    r"(?:[.,]\d{1,3})?.*$"
)
_CUE_NUMBER = re.compile(r"^\s*\d{1,7}\s*$")
_VOICE = re.compile(r"<v(?:\.[\w.-]{0,40})?\s+([^>]{1,80})>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,80}>")
_STAMP = re.compile(r"^\s*[\[(]?\s*(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?\s*[\])]?\s*[-–]?\s*")
# "Rita Moreno:", "Dr. Ken O'Hara (Acme):", "sam@northwind.example:" — a short name that
# starts with a letter; "Note: ..." style prose is told apart by the word count cap.
_LABEL = re.compile(
    r"^\s*([A-Za-z\u00c0-\u024f][\w.'’@+\- ]{0,40}?(?:\s*\([^()]{1,40}\))?)\s*:\s+(?=\S)"
)
_LABEL_WORDS = 4
# Words that begin prose, not a name, when followed by a colon.
_NOT_NAMES = frozenset(
    {"note", "notes", "action", "actions", "todo", "agenda", "summary", "re", "subject", "ps"}
)


@dataclass(frozen=True)
class Turn:
    """What one speaker said without interruption; ``speaker`` is ``None`` when unlabelled."""

    speaker: str | None
    text: str


def read_transcript(text: str, fmt: str | None = None) -> list[Turn]:
    """The transcript's turns, in order. ``fmt`` is a hint only; the layout is sniffed."""
    text = (text or "")[:MAX_TRANSCRIPT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufeff", "").replace("\x00", "")
    turns: list[Turn] = []
    in_note = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            in_note = False
            continue
        if line.startswith("WEBVTT") or line.startswith(("NOTE", "STYLE", "REGION")):
            in_note = not line.startswith("WEBVTT")
            continue
        if in_note or _TIMING.match(line) or _CUE_NUMBER.match(line):
            continue
        speaker, words = _split_line(line)
        words = " ".join(_TAG.sub(" ", words).split())
        if not words:
            continue
        if speaker is None and turns:
            speaker = turns[-1].speaker
        if turns and turns[-1].speaker == speaker:
            turns[-1] = Turn(speaker, f"{turns[-1].text} {words}")
        else:
            turns.append(Turn(speaker, words))
    return turns


def _split_line(line: str) -> tuple[str | None, str]:
    voice = _VOICE.search(line)
    if voice:
        return _clean_name(voice.group(1)), line[voice.end() :]
    line = _STAMP.sub("", line, count=1)
    label = _LABEL.match(line)
    if label:
        name = _clean_name(label.group(1))
        if name and len(name.split()) <= _LABEL_WORDS and name.lower() not in _NOT_NAMES:
            return name, line[label.end() :]
    return None, line


def _clean_name(name: str) -> str | None:
    cleaned = " ".join(_TAG.sub(" ", name).split()).strip(" -:")
    return cleaned or None
