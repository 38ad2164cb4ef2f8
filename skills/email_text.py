"""Rules about an email's text that reading, drafting and sending share, so they cannot drift:
where quoted history starts, what the new part of a reply is, and how a reply's subject reads.

- :func:`history_start` / :data:`QUOTED_LINE` — quoted history: Gmail "On … wrote:", ``>``
  lines, Outlook "From:/Sent:" blocks and "-----Original Message-----", Apple Mail "Begin
  forwarded message", and reply headers in other languages: ours below where we know better,
  mail-parser-reply's for the rest (:mod:`skills.mail_languages` says which and why).
- :func:`clean_body` — the new part of a reply: quoted history and the signature removed
  (:func:`with_signature` keeps the signature).
- :func:`reply_subject`, :func:`without_reply_prefixes`, :func:`bare_subject` — "Re:" once,
  whatever the client wrote before ("RE:", "Re[2]:", "AW:", "SV:", "Antw:", "VS:"), and the
  subject threads are matched on (forward markers "Fwd:", "WG:", "TR:" dropped too).

Pure: strings in, strings out.
"""

from __future__ import annotations

import re

from skills import mail_languages

# --- quoted history ----------------------------------------------------------------------------

# Lines that end the new part of an email: quoted history and forwarded blocks.
QUOTE_HEADERS: tuple[re.Pattern[str], ...] = (
    # Gmail / Apple Mail: "On Mon, Mar 2, 2026 at 9:14 AM Sam <sam@x> wrote:" (may wrap).
    re.compile(r"^\s*On\b[^\n]{0,200}(?:\n[^\n]{0,200}){0,2}?\bwrote:\s*$", re.MULTILINE),
    # The same, lower-cased or with a long name list on one line.
    re.compile(r"^[ \t]*On\b[^\n]{0,300}(?:\n[^\n]{0,200})?\bwrote:[ \t]*$", re.M | re.I),
    re.compile(r"^\s*-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^\s*Begin forwarded message:", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^\s*_{5,}\s*$", re.MULTILINE),  # Outlook's horizontal rule before headers
    # Outlook: "From: …" followed within a few lines by "Sent:/Date:/To:/Subject:".
    re.compile(
        r"^\s*\*?From:\*?\s.*\n(?:.*\n){0,3}?\s*\*?(?:Sent|Date|To|Subject):\*?\s", re.MULTILINE
    ),
    # ...or by any run of header lines ending in "Sent:" or "Date:".
    re.compile(
        r"^[ \t]*From:[^\n]*\n(?:[ \t]*[A-Za-z-]+:[^\n]*\n)*?[ \t]*(?:Sent|Date):", re.M | re.I
    ),
    re.compile(
        r"^\s*Le .{0,200} a écrit\s*:\s*$|^\s*Am .{0,200} schrieb .{0,200}:\s*$", re.MULTILINE
    ),
    # Gmail and Apple Mail where mail-parser-reply misses: Spanish "El lun, 2 mar 2026 a las
    # 9:14, Sam <sam@x> escribió:", Portuguese "Em seg., 2 de mar. de 2026 às 09:14, Sam <sam@x>
    # escreveu:", Dutch "Op ma 2 mrt 2026 om 09:14 schreef Sam <sam@x>:". The date on the first
    # line keeps "El equipo escribió:" ("the team wrote:") in the reply.
    re.compile(
        r"^[ \t]*(?:El|Em|Op)\b(?=[^\n]*\d)[^\n]{0,300}(?:\n[^\n]{0,200})?"
        r"(?:\b(?:escribió|escreveu)|\bschreef\b[^\n]{0,200})\s?:[ \t]*$",
        re.MULTILINE,
    ),
    # A date and the verb on one line: Polish Gmail "pon., 2 mar 2026 o 09:14 Sam <sam@x>
    # napisał(a):", Chinese "Sam <sam@x> 于2026年3月2日周一 09:14写道：", Portugal's Gmail "Sam
    # <sam@x> escreveu no dia segunda, 2/03/2026 à(s) 09:14:". The date keeps prose such as
    # "Jak Sam napisał:" ("as Sam wrote:") in the reply.
    re.compile(
        r"^(?:[^\n\d]{0,300}\d[^\n]{0,300}(?:\bnapisał(?:\(a\)|a)?|写道|寫道)"
        r"|[^\n]{0,300}\bescreveu\b[^\n]{0,200}\d)[:：][ \t]*$",
        re.MULTILINE,
    ),
    # Outlook blocks mail-parser-reply misses: Portuguese "De: / Enviado: (Enviada em:)", Polish
    # "Od: / Wysłano:", Japanese "差出人: / 送信日時:".
    re.compile(
        r"^[ \t]*\*?(?:De|Od|差出人)\*?[ \t]?[:：]\*?[^\n]*\n(?:[^\n]*\n){0,3}?"
        r"[ \t]*\*?(?:Enviad[ao](?: em)?|Wysłano|送信日時)\*?[ \t]?[:：]",
        re.MULTILINE,
    ),
)

# A quoted line: "> …", after any indentation (never across a line break).
QUOTED_LINE = re.compile(r"^[^\S\n]*>[^\n]*", re.MULTILINE)


def history_start(text: str) -> int | None:
    """Where the quoted history in ``text`` begins (the earliest reply header), if anywhere:
    the earliest of our headers and mail-parser-reply's in the languages we take from it."""
    starts = [m.start() for m in (header.search(text) for header in QUOTE_HEADERS) if m]
    if (theirs := mail_languages.header_start(text)) is not None:
        starts.append(theirs)
    return min(starts, default=None)


# --- the new part of a reply -------------------------------------------------------------------

# Lines that start a signature (in English; other languages' are mail-parser-reply's).
SIGNATURE_START = re.compile(
    r"^\s*(?:--\s*|__+|sent from my \w+.*|get outlook for .*|sent via .*|"
    r"(?:best|best regards|kind regards|warm regards|warmest regards|regards|many thanks|thanks|"
    r"thank you|thanks again|thanks so much|cheers|sincerely|yours|yours truly|talk soon|speak "
    r"soon|all the best|best wishes|with thanks|br|rgds|thx|tia)\s*[,.!]?)\s*$",
    re.IGNORECASE,
)

_CONTACT_LINE = re.compile(
    r"(?:\+?\d[\d\s().-]{7,}\d|https?://|www\.|\|)|^\s*\S+@\S+\s*$", re.IGNORECASE
)


def clean_body(text: str) -> str:
    """The new part of an email reply: quoted history, forwarded blocks and signature removed."""
    return "\n".join(_drop_signature(_new_lines(text))).strip()


def with_signature(text: str) -> str:
    """The new part of a reply with its signature kept (where a writer's city usually is)."""
    return "\n".join(_new_lines(text))


def _new_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = history_start(text)
    return [line for line in text[:cut].split("\n") if not QUOTED_LINE.match(line)]


def _drop_signature(lines: list[str]) -> list[str]:
    """Cut at a sign-off ("Best," / "--" / "Sent from my phone") that follows some content."""
    has_content = False
    for index, line in enumerate(lines):
        if has_content and (SIGNATURE_START.match(line) or mail_languages.is_sign_off(line)):
            return lines[:index]
        has_content = has_content or bool(line.strip())
    # No sign-off: still drop a trailing block of phone numbers, links and "Title | Company".
    end = len(lines)
    while end > 1 and (not lines[end - 1].strip() or _CONTACT_LINE.search(lines[end - 1])):
        end -= 1
    return lines[:end]


# --- subjects ----------------------------------------------------------------------------------

# "Re:", "RE:", "Re[2]:", "AW:", "SV:", "Antw:", "VS:": what clients put before a reply.
_REPLY = r"(?:re|aw|sv|antw|vs)(?:\[\d+\])?\s*:"
# "Fwd:", "Fw:", "WG:", "TR:": a forward, still the same conversation.
_FORWARD = r"(?:fwd?|wg|tr)(?:\[\d+\])?\s*:"
_REPLY_PREFIX = re.compile(rf"^\s*{_REPLY}", re.IGNORECASE)
_REPLY_PREFIXES = re.compile(rf"^(?:\s*{_REPLY}\s*)+", re.IGNORECASE)
_THREAD_PREFIXES = re.compile(rf"^\s*(?:(?:{_REPLY}|{_FORWARD})\s*)+", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """The subject of a reply: "Re: " once, so every client files it in the thread. A subject
    already carrying a reply prefix is left alone, so replies to replies don't grow
    "Re: Re: Re:" (Gmail and Outlook thread on the bare subject)."""
    subject = subject.strip()
    if _REPLY_PREFIX.match(subject):
        return subject
    return f"Re: {subject}"


def without_reply_prefixes(subject: str) -> str:
    """``subject`` without the reply prefixes it starts with ("Re: RE: Demo" -> "Demo")."""
    return _REPLY_PREFIXES.sub("", subject).strip()


def bare_subject(subject: str) -> str:
    """The subject without reply and forward prefixes, case and spacing: what threads share."""
    return " ".join(_THREAD_PREFIXES.sub("", subject).split()).lower()
