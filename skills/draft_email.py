"""Email drafts from structured data. Times, dates and names are inserted by code, never written
by a model, and shown in the recipient's zone (with ours alongside when it differs).

Three layers, and this module is the entry to the first two:

- **Templates** (:func:`render_draft` and one function per kind) turn a frozen input dataclass
  (:mod:`skills.draft_inputs`) into a sendable :class:`Draft` with no model at all. Wordings
  live in :mod:`skills.email_templates` and are filled in by :mod:`skills.draft_wording`; a
  team can override them per meeting type with plain strings (``overrides``), checked by
  :func:`skills.draft_wording.check_templates`.
- **Prose** (:func:`draft_with_llm`) lets a model write the sentences around placeholders such as
  ``[[SLOTS]]`` and ``[[LINK]]`` (:mod:`skills.draft_prose`); code fills them in, and anything
  off falls back to the template.
- **The validator** (:func:`skills.draft_validation.validate_draft`) is the last word before a
  draft becomes a pending action.

Pure: no I/O and no clock; the model is reached only through the :class:`LLMPort` passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from connectors.ports import LLMPort
from skills.draft_inputs import (
    WORD_LIMITS,
    AnswerInput,
    ClarificationInput,
    ConfirmationInput,
    CounterProposalInput,
    DelegateInput,
    Draft,
    DraftInput,
    Facts,
    FollowUpInput,
    InitialEmailInput,
    NoShowInput,
    ReminderInput,
    facts_of,
)
from skills.draft_prose import prose_attempt
from skills.draft_validation import word_count
from skills.draft_wording import choose_wording, fill


def initial_email(data: InitialEmailInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """The first scheduling email: short, specific times, no scheduling link."""
    return render_draft(data, overrides)


def follow_up_email(data: FollowUpInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """A nudge after silence, refreshed with current slots; tone set by the attempt number."""
    return render_draft(data, overrides)


def confirmation_email(
    data: ConfirmationInput, overrides: Mapping[str, str] | None = None
) -> Draft:
    """They said yes: confirm the time, mention the invite and the link."""
    return render_draft(data, overrides)


def reminder_email(data: ReminderInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """The meeting-day reminder with the time and the join link."""
    return render_draft(data, overrides)


def no_show_email(data: NoShowInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """Recovery after a no-show: no guilt, fresh slots; tone set by the no-show count."""
    return render_draft(data, overrides)


def counter_proposal_email(
    data: CounterProposalInput, overrides: Mapping[str, str] | None = None
) -> Draft:
    """Their time doesn't work for us: offer our alternatives."""
    return render_draft(data, overrides)


def clarification_email(
    data: ClarificationInput, overrides: Mapping[str, str] | None = None
) -> Draft:
    """Ask which option they meant, or for a clearer pick."""
    return render_draft(data, overrides)


def answer_email(data: AnswerInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """Reply to their question with the rep's answer (or ``[[ANSWER]]`` for the rep to fill)."""
    return render_draft(data, overrides)


def delegate_email(data: DelegateInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """Introduce ourselves to the person the prospect handed the scheduling to."""
    return render_draft(data, overrides)


def render_draft(data: DraftInput, overrides: Mapping[str, str] | None = None) -> Draft:
    """The offline draft for any input, using ``overrides`` (template id + ".subject"/".body" ->
    text) where given. Raises :class:`TemplateError` for an override with unknown placeholders.

    A draft over its word limit (a long signature or context) first offers fewer times (down to
    three), then leaves the rep's context out, then offers fewer times still; ``Draft.slots`` says
    which were offered. If nothing fits, the last try is returned and the validator says why.
    """
    facts = facts_of(data)
    wording = choose_wording(facts, overrides or {})
    draft = fill(wording, facts, with_context=True)
    for smaller, with_context in _shrinking(facts):
        if word_count(draft.body) <= WORD_LIMITS[facts.kind]:
            break
        draft = fill(wording, smaller, with_context=with_context)
    return draft


def _shrinking(facts: Facts) -> list[tuple[Facts, bool]]:
    """Ever shorter versions of ``facts`` to try, in order of what the prospect misses least."""
    count = len(facts.slots)
    keep_context = [(replace(facts, slots=facts.slots[:n]), True) for n in range(count - 1, 2, -1)]
    shortest = min(count, 3)
    without = [(replace(facts, slots=facts.slots[:n]), False) for n in range(shortest, 0, -1)]
    if not facts.slots:
        without = [(facts, False)]
    return keep_context + without


def allowed_slots(data: DraftInput) -> tuple[datetime, ...]:
    """The times a draft for ``data`` may mention (what to pass to :func:`validate_draft`)."""
    return facts_of(data).offered


@dataclass(frozen=True)
class Written:
    """A draft and, when a model was asked but its draft refused, why the template was used."""

    draft: Draft
    refused: str = ""


def write_draft(
    data: DraftInput,
    *,
    llm: LLMPort | None,
    overrides: Mapping[str, str] | None = None,
    prospect_message: str = "",
    instruction: str = "",
) -> Written:
    """:func:`draft_with_llm`, saying why the template stands in when the model's draft was
    refused. ``instruction`` is the rep's note on the draft they rejected."""
    template = render_draft(data, overrides)
    if llm is None:
        return Written(template)
    draft, refused = prose_attempt(
        facts_of(data), llm=llm, prospect_message=prospect_message, instruction=instruction
    )
    return Written(draft) if draft is not None else Written(template, refused)


def draft_with_llm(
    data: DraftInput,
    *,
    llm: LLMPort | None,
    overrides: Mapping[str, str] | None = None,
    prospect_message: str = "",
) -> Draft:
    """Model-written prose around code-inserted facts, or the template when that isn't safe.

    The model sees the situation, the rep's context and the prospect's message (as delimited
    data) but never the times, names or links; it writes placeholders and code fills them in.
    Any :class:`LLMError`, schema mismatch, misplaced placeholder, URL or email address in the
    prose, or validator problem returns the offline template instead.
    """
    return write_draft(data, llm=llm, overrides=overrides, prospect_message=prospect_message).draft
