"""Reply headers and sign-offs in other languages, from mail-parser-reply (`mailparser_reply`).

The library knows the "wrote" line and the Outlook header block of Czech, Danish (which also
reads Norwegian), Dutch, French, German, Italian, Japanese, Korean, Polish, Spanish, Swedish and
Chinese, and their sign-offs. We use its patterns, not its `EmailReplyParser`, because:

- its parser also cuts the signature at any line starting "- " (a list of times is exactly what
  a prospect sends) and at "Thanks," mid-text, and strips every line, so its offsets are not the
  text's (`skills.timeparse.quoting` blanks history in place and needs them);
- its patterns backtrack badly on a long line that merely starts like a header: 2 s for a
  7,000-character line starting "Il", minutes for Swedish. So they only ever see a short window
  around a line that can be a header, and only the first few such lines of a message;
- some are wrong for the mail clients we see, and `skills.email_text` keeps its own rules for
  those: Spanish "El … escribió:" (the library wants two spaces before "escribió"), Gmail's Dutch
  "Op … schreef Sam <sam@x>:" and Polish "pon., … napisał(a):", Chinese "写道：" (its lookahead
  rejects every header), and Polish Outlook blocks (one line such as "Data: wtorek" was enough).
  English stays ours too: our rules are tuned on real mail, and the library's English Outlook
  block fires on any two lines among To:/Cc:/Date:/Subject:. Portuguese it does not know.

Measured on the eval corpora (1,195 replies, the messages they answer, and time sentences):
none of the patterns taken here fires on any of them, and the intent and time benchmarks read
the same before and after.

Pure: strings in, offsets and strings out; the patterns compile once, on first use.
"""

from __future__ import annotations

import re
from functools import cache

from mailparser_reply.constants import MAIL_LANGUAGES

# Languages whose "wrote" line and Outlook block we take from the library, as explained above.
WROTE_LANGUAGES = ("cs", "da", "de", "fr", "it", "ja", "ko", "pl", "sv")
# Japanese is left out here: its Outlook block has the English labels (From:/To:/Date:).
FROM_BLOCK_LANGUAGES = ("cs", "da", "de", "es", "fr", "it", "ko", "nl", "sv", "zh")
SIGN_OFF_LANGUAGES = ("cs", "da", "de", "es", "fr", "it", "ko", "nl", "pl", "sv", "zh")

# A reply header is a line or two of name, address and date; longer lines are never headers.
MAX_HEADER_LINE = 300
# How many header-shaped spots in one message the library's patterns look at (the earliest
# ones, as history starts at the first header): bounds the time a hostile message costs.
MAX_CANDIDATES = 12
# Lines an Outlook block's window spans: From, Sent, To, Cc, Subject and one wrapped line.
_BLOCK_LINES = 6

# A word each language's "wrote" line cannot do without: a window without it is not tried, so
# the costly patterns run only where a header could be.
_WROTE_WORDS = {
    "cs": "napsal",
    "da": "skrev",
    "de": "schrieb",
    "fr": "écrit",
    "it": "scritto",
    "ja": "年",
    "ko": "작성하였습니다",
    "pl": "dnia",
    "sv": "skrev",
}

# "Label:" at the start of a line ("*Von:*", "De :", "> Van:"): maybe a header block's line.
_LABEL_LINE = re.compile(r"^[>*\s]*[^\W\d_][^\n:：]{0,24}[:：]")


@cache
def _sign_off() -> re.Pattern[str]:
    """A whole line that is a sign-off ("Un saludo,", "Mit freundlichen Grüßen") or a phone's
    "Enviado desde mi iPhone" (short and unpunctuated: "Inviato da Marco: …" is a sentence).
    Whole lines only: the library's own rule cuts at "Tak for …" ("Thanks for …")."""
    words = "|".join(
        f"(?:{word})" for lang in SIGN_OFF_LANGUAGES for word in MAIL_LANGUAGES[lang]["signatures"]
    )
    sent_from = "|".join(
        f"(?:{MAIL_LANGUAGES[lang]['sent_from']})"
        for lang in SIGN_OFF_LANGUAGES
        if MAIL_LANGUAGES[lang].get("sent_from")
    )
    return re.compile(
        rf"^\s*(?:(?:{words})\s*[,.!]?|(?:{sent_from})[^\n.!?:;,]{{0,40}})\s*$", re.IGNORECASE
    )


def is_sign_off(line: str) -> bool:
    return len(line) <= MAX_HEADER_LINE and bool(_sign_off().match(line))


@cache
def _patterns() -> tuple[list[tuple[str, re.Pattern[str]]], list[re.Pattern[str]]]:
    flags = re.MULTILINE | re.IGNORECASE
    wrote = [
        (_WROTE_WORDS[lang], re.compile(MAIL_LANGUAGES[lang]["wrote_header"], flags))
        for lang in WROTE_LANGUAGES
    ]
    block = [
        re.compile(MAIL_LANGUAGES[lang]["from_header"], flags) for lang in FROM_BLOCK_LANGUAGES
    ]
    return wrote, block


def header_start(text: str) -> int | None:
    """Where the library finds the first reply header in ``text`` that is not itself quoted.

    Lines are matched stripped, as the library expects; the offset returned is into ``text``.
    """
    if ":" not in text and "：" not in text:  # every header ends in or contains a colon
        return None
    wrote, block = _patterns()
    raw_lines = text.split("\n")
    lines = [line.strip() if len(line) <= MAX_HEADER_LINE else "" for line in raw_lines]
    candidates = 0
    for index, line in enumerate(lines):
        if not line or line.startswith(">"):
            continue  # quoted lines are history already, line by line
        ends_wrote = line.endswith((":", "："))
        starts_block = bool(
            _LABEL_LINE.match(line)
            and index + 1 < len(lines)
            and _LABEL_LINE.match(lines[index + 1])
        )
        if not ends_wrote and not starts_block:
            continue
        candidates += 1
        if candidates > MAX_CANDIDATES:
            return None
        if ends_wrote:
            # Alone, then wrapped once; alone first, or a line of the reply before it that
            # happens to start like a header ("Il martedì va bene.") would be cut with it.
            for first in (index, index - 1) if index else (index,):
                window = "\n".join(lines[first : index + 1])
                folded = window.casefold()
                if lines[first] and any(
                    word in folded and pattern.fullmatch(window) for word, pattern in wrote
                ):
                    return _offset(raw_lines, first)
        if starts_block:
            window = "\n".join(lines[index : index + _BLOCK_LINES])
            if any(p.match(window) for p in block):
                return _offset(raw_lines, index)
    return None


def _offset(raw_lines: list[str], index: int) -> int:
    """The offset in the text of line ``index``'s first character that is not blank."""
    start = sum(len(line) + 1 for line in raw_lines[:index])
    line = raw_lines[index]
    return start + len(line) - len(line.lstrip())
