"""The offline email templates: plain strings with named placeholders.

Each template id maps to a few interchangeable wordings so two prospects at the same company don't
receive word-for-word identical emails; :mod:`skills.draft_email` picks one deterministically. Every
wording is written to fit its kind's word limit with the maximum number of slots that kind offers,
a two-line signature and a short context sentence.

Placeholders (which ones a template may use depends on its kind, see ``KIND_FIELDS``):

- ``{greeting}`` "Hi Ann," (or "Hi there," without a name), ``{first_name}``
- ``{signature}`` the rep's signature or name, ``{rep_name}``, ``{rep_first_name}``
- ``{meeting}`` "demo", ``{meeting_title}`` "Demo", ``{minutes}`` "30"
- ``{context}`` the rep's reason as a sentence with a leading space, or nothing
- ``{slots}`` the numbered list of times, ``{time}`` the one agreed time
- ``{link_line}`` " Here's the link: ..." or nothing, ``{link}`` the bare meeting link
- ``{original_subject}`` the thread's subject without "Re:"
- ``{answer}`` the rep's answer, ``{referrer}`` who handed the thread to a delegate

Overrides (from ``scheduling_templates.email_templates``) use the keys ``"<template id>.subject"``
and ``"<template id>.body"``; a tone-specific id (``follow_up_final``) wins over the kind's
(``follow_up``), which wins over these defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    """One subject line and body, with ``{placeholder}`` fields."""

    subject: str
    body: str


_COMMON = frozenset(
    {
        "greeting",
        "first_name",
        "signature",
        "rep_name",
        "rep_first_name",
        "meeting",
        "meeting_title",
        "minutes",
        "context",
        "original_subject",
    }
)

# What each kind can fill in; anything else in a template is an error, not a blank.
KIND_FIELDS: Mapping[str, frozenset[str]] = {
    "initial": _COMMON | {"slots"},
    "follow_up": _COMMON | {"slots"},
    "confirmation": _COMMON | {"time", "link", "link_line"},
    "reminder": _COMMON | {"time", "link", "link_line"},
    "no_show": _COMMON | {"slots"},
    "counter_proposal": _COMMON | {"slots"},
    "clarification": _COMMON | {"slots"},
    "answer": _COMMON | {"answer"},
    "delegate": _COMMON | {"slots", "referrer"},
}

# Template id -> its kind. Tone-specific ids let a team override just the final follow-up.
TEMPLATE_KINDS: Mapping[str, str] = {
    "initial": "initial",
    "follow_up": "follow_up",
    "follow_up_friendly": "follow_up",
    "follow_up_lighter": "follow_up",
    "follow_up_final": "follow_up",
    "confirmation": "confirmation",
    "reminder": "reminder",
    "no_show": "no_show",
    "no_show_first": "no_show",
    "no_show_second": "no_show",
    "no_show_last": "no_show",
    "counter_proposal": "counter_proposal",
    "counter_proposal_window": "counter_proposal",
    "counter_proposal_fresh": "counter_proposal",
    "clarification": "clarification",
    "clarification_which_option": "clarification",
    "clarification_unclear": "clarification",
    "answer": "answer",
    "delegate": "delegate",
}

DEFAULTS: Mapping[str, tuple[Wording, ...]] = {
    "initial": (
        Wording(
            "{meeting_title} — finding a time",
            "{greeting}\n\n"
            "I'd love to set up a {minutes}-minute {meeting}.{context}\n\n"
            "Would any of these work for you?\n{slots}\n\n"
            "If none fit, just tell me what works better and I'll make it happen.\n\n"
            "Best,\n{signature}",
        ),
        Wording(
            "Time for a quick {meeting}?",
            "{greeting}\n\n"
            "Could we grab {minutes} minutes for a {meeting}?{context}\n\n"
            "Here are a few openings on my side:\n{slots}\n\n"
            "Reply with whichever suits you, or suggest another time if none of them do.\n\n"
            "Thanks,\n{signature}",
        ),
        Wording(
            "{meeting_title}: a few times that could work",
            "{greeting}\n\n"
            "I'm putting together a {minutes}-minute {meeting} and wanted to find a slot that's "
            "easy for you.{context}\n\n"
            "These are open for me:\n{slots}\n\n"
            "Pick one and I'll send the invite, or point me to something better.\n\n"
            "Cheers,\n{signature}",
        ),
    ),
    "follow_up_friendly": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Circling back on the {meeting} — I know inboxes fill up fast. "
            "Would one of these work?\n{slots}\n\n"
            "Happy to look at other times too.\n\n{signature}",
        ),
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Bumping this up in case it got buried. I've still got these open for the "
            "{meeting}:\n{slots}\n\n"
            "Does any of them suit you?\n\n{signature}",
        ),
    ),
    "follow_up_lighter": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Just a light nudge, as I don't want to crowd your inbox. If the timing is off, "
            "say the word and I'll check back another time. Otherwise these are open:\n{slots}\n\n"
            "{signature}",
        ),
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Is the timing just not right at the moment? No problem if so. If a {meeting} still "
            "makes sense, any of these would work for me:\n{slots}\n\n{signature}",
        ),
    ),
    "follow_up_final": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "I'll close the loop here so I'm not cluttering your inbox. If the {meeting} is "
            "still of interest, just reply with one of these:\n{slots}\n\n"
            "If it has slipped down the list, no hard feelings.\n\n{signature}",
        ),
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Closing the loop on my side. Should the {meeting} still be useful, these "
            "remain open:\n{slots}\n\n"
            "Otherwise I'll take this off your plate, and you know where to find me.\n\n"
            "{signature}",
        ),
    ),
    "confirmation": (
        Wording(
            "Confirmed: {meeting_title} on {time}",
            "{greeting}\n\n"
            "You're all set for {time}. The calendar invite is on its way.{link_line}"
            "{context}\n\n"
            "Looking forward to it!\n\n{signature}",
        ),
        Wording(
            "Confirmed: {meeting_title} on {time}",
            "{greeting}\n\n"
            "Great, {time} it is. You'll have the invite shortly.{link_line}{context}\n\n"
            "Really looking forward to talking.\n\n{signature}",
        ),
    ),
    "reminder": (
        Wording(
            "Reminder: {meeting_title} on {time}",
            "{greeting}\n\n"
            "Quick reminder about our {meeting} on {time}.{link_line}\n\n"
            "See you then!\n\n{signature}",
        ),
        Wording(
            "Reminder: {meeting_title} on {time}",
            "{greeting}\n\n"
            "Looking forward to our {meeting} on {time}.{link_line} "
            "If anything has changed, just reply here.\n\n{signature}",
        ),
    ),
    "no_show_first": (
        Wording(
            "Missed you — let's find another time",
            "{greeting}\n\n"
            "Looks like we missed each other for the {meeting}. No worries at all, things "
            "come up. Would one of these work instead?\n{slots}\n\n{signature}",
        ),
    ),
    "no_show_second": (
        Wording(
            "Another time for the {meeting}?",
            "{greeting}\n\n"
            "I know schedules get hectic. I'd still love to connect whenever it suits you, "
            "and these are open:\n{slots}\n\n"
            "Or send me a time that's easier.\n\n{signature}",
        ),
    ),
    "no_show_last": (
        Wording(
            "Whenever the timing is right",
            "{greeting}\n\n"
            "Totally understand if this isn't the right moment. If you'd still like to talk, "
            "any of these works for me:\n{slots}\n\n"
            "Otherwise, happy to reconnect once things calm down.\n\n{signature}",
        ),
    ),
    "counter_proposal": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Thanks for suggesting a time. Unfortunately that one doesn't work on my end. "
            "Could any of these work instead?\n{slots}\n\n"
            "If not, send over a couple more options and I'll make one fit.\n\n{signature}",
        ),
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Sorry, I can't make that one. I do have these open:\n{slots}\n\n"
            "Would one of them work? If not, tell me what does and I'll move things around.\n\n"
            "{signature}",
        ),
    ),
    "counter_proposal_window": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Thanks for letting me know what suits you. These fit on my side:\n{slots}\n\n"
            "Would one of them work? If not, tell me what does and I'll make it fit.\n\n"
            "{signature}",
        ),
    ),
    "counter_proposal_fresh": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Thanks for getting back to me. Here are some other times that are open on my "
            "side:\n{slots}\n\n"
            "Would one of them work? If not, tell me what does and I'll make it fit.\n\n"
            "{signature}",
        ),
    ),
    "clarification_which_option": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Thanks for getting back to me! Just so I book the right one, which of these did "
            "you mean?\n{slots}\n\n{signature}",
        ),
    ),
    "clarification_unclear": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Thanks for the reply. I want to be sure I get this right: could you tell me which "
            "of these suits you, or suggest another time?\n{slots}\n\n{signature}",
        ),
    ),
    "answer": (
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Good question, thanks for asking.\n\n{answer}\n\n"
            "Happy to go deeper on it during the {meeting} too.\n\n{signature}",
        ),
        Wording(
            "Re: {original_subject}",
            "{greeting}\n\n"
            "Thanks for the question.\n\n{answer}\n\n"
            "Let me know if that raises anything else, and we can cover it in the {meeting}.\n\n"
            "{signature}",
        ),
    ),
    "delegate": (
        Wording(
            "{meeting_title} — finding a time",
            "{greeting}\n\n"
            "{referrer} mentioned you're the best person to help set up a {minutes}-minute "
            "{meeting}.{context} Would any of these work for you?\n{slots}\n\n"
            "Happy to adjust if none of them fit.\n\n{signature}",
        ),
        Wording(
            "{meeting_title} — finding a time",
            "{greeting}\n\n"
            "{referrer} pointed me your way to find a time for a {minutes}-minute "
            "{meeting}.{context} These are open on my side:\n{slots}\n\n"
            "Just reply with whichever suits you best.\n\n{signature}",
        ),
    ),
}
