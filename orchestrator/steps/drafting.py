"""Every email a step drafts is written here: by the model when the org has one (`LLM_MODEL`,
within its budget), else from the templates, and the card says which and why.

The model writes only prose around placeholders; times, names and links are put in by code,
and a draft that breaks any rule is replaced by the template (`skills.draft_email.write_draft`).
"""

from __future__ import annotations

from collections.abc import Mapping

from db.models import SchedulingRequest
from orchestrator.engine.events import StepContext
from skills.draft_email import Written, write_draft
from skills.draft_inputs import DraftInput

MESSAGE_CHARS = 2000  # of the prospect's cleaned message the model sees, as data


def write(
    ctx: StepContext,
    request: SchedulingRequest,
    data: DraftInput,
    overrides: Mapping[str, str] | None = None,
    *,
    prospect_message: str = "",
    instruction: str = "",
) -> Written:
    """Raises TemplateError for a team override with unknown placeholders, as the templates do."""
    return write_draft(
        data,
        llm=ctx.ports.llm_for(request.org_id, request.rep_id),
        overrides=overrides,
        prospect_message=prospect_message[:MESSAGE_CHARS],
        instruction=instruction,
    )


def worded(reasoning: str, written: Written) -> str:
    """The card's "Why", saying who wrote the words when a model was asked."""
    if written.refused:
        return (
            f"{reasoning} The model's draft was refused ({written.refused}); this is the template."
        )
    if written.draft.source == "llm":
        return f"{reasoning} Worded by the model; times, names and links were put in by Convene."
    return reasoning
