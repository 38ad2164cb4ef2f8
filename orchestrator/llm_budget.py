"""The monthly LLM budget of an org, and the record of what each model call cost.

:class:`BudgetedLLM` wraps any :class:`LLMPort`. Before a call it sums the org's ``llm_usage``
for the current calendar month (UTC); at or over the budget it raises
:class:`LLMBudgetExhausted` — an :class:`LLMError` — without calling the model, so skills fall
back to their offline rules and escalate exactly as when the model is down. After a call it
writes one ``llm_usage`` row in its own transaction: the money is spent when the provider
answers, whether or not the step that asked later commits.

The check and the call are not atomic: workers running at the same moment can each pass the
gate, so an org can overshoot its budget by about one call per worker. A budget is a spending
brake, not an invoice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.llm import LiteLLMClient, LLMAnswerInvalid, LLMSpend
from connectors.ports import Clock, LLMError, LLMPort, LLMReply
from db.models import LLMUsage
from db.uow import UnitOfWork
from orchestrator.settings import Settings, reveal

# The offline rules: no model at all.
RULES = "rules"


class LLMBudgetExhausted(LLMError):
    """The org spent its LLM budget for this month; the model was not asked."""


# --- data functions -----------------------------------------------------------------------------


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start of ``now``'s calendar month in UTC and start of the next one."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    following = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, following


def llm_spend_this_month(session: Session, *, org_id: str, now: datetime) -> float:
    """Dollars the org's model calls cost in ``now``'s calendar month (UTC)."""
    start, following = month_bounds(now)
    total = session.exec(
        select(func.coalesce(func.sum(LLMUsage.cost_usd), 0.0)).where(
            LLMUsage.org_id == org_id,
            col(LLMUsage.created_at) >= start,
            col(LLMUsage.created_at) < following,
        )
    ).one()
    return float(total)


def record_llm_usage(
    session: Session,
    *,
    org_id: str,
    rep_id: uuid.UUID | None,
    purpose: str,
    spent: LLMSpend,
    now: datetime,
) -> LLMUsage:
    row = LLMUsage(
        org_id=org_id,
        rep_id=rep_id,
        model=spent.model,
        purpose=purpose,
        prompt_tokens=spent.prompt_tokens,
        completion_tokens=spent.completion_tokens,
        cost_usd=spent.cost_usd,
        created_at=now,
    )
    session.add(row)
    return row


# --- the gate -----------------------------------------------------------------------------------


class BudgetedLLM:
    """An :class:`LLMPort` that refuses past the org's monthly budget and records every call."""

    def __init__(
        self,
        inner: LLMPort,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        org_id: str,
        rep_id: uuid.UUID | None,
        monthly_budget_usd: float,
    ) -> None:
        self.inner = inner
        self._sessions = sessions
        self._clock = clock
        self.org_id = org_id
        self.rep_id = rep_id
        self.monthly_budget_usd = monthly_budget_usd

    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMReply:
        with UnitOfWork(self._sessions) as uow:
            spent = llm_spend_this_month(uow.session, org_id=self.org_id, now=self._clock.now())
        if spent >= self.monthly_budget_usd:
            raise LLMBudgetExhausted("LLM budget for this month is used up")
        try:
            reply = self.inner.complete(system=system, user=user, schema=schema, purpose=purpose)
        except LLMAnswerInvalid as error:
            # A malformed answer was still paid for; the budget must see it.
            self._record(purpose, error.spent)
            raise
        self._record(
            purpose,
            LLMSpend(reply.model, reply.prompt_tokens, reply.completion_tokens, reply.cost_usd),
        )
        return reply

    def _record(self, purpose: str, spent: LLMSpend) -> None:
        with UnitOfWork(self._sessions) as uow:
            record_llm_usage(
                uow.session,
                org_id=self.org_id,
                rep_id=self.rep_id,
                purpose=purpose,
                spent=spent,
                now=self._clock.now(),
            )
            uow.commit()


# --- wiring -------------------------------------------------------------------------------------


def llm_client(settings: Settings) -> LLMPort | None:
    """The configured model, or None for the offline rules. Cheap: litellm loads on first use."""
    if settings.llm_model == RULES:
        return None
    return LiteLLMClient(
        model=settings.llm_model,
        api_base=settings.llm_api_base,
        api_key=reveal(settings.llm_api_key),
        timeout_seconds=settings.llm_timeout_seconds,
    )


@dataclass(frozen=True)
class BudgetedModels:
    """The process's model, handed to one org at a time behind that org's monthly budget."""

    llm: LLMPort | None
    sessions: sessionmaker[Session]
    clock: Clock
    monthly_budget_usd: float

    def llm_for(self, org_id: str, rep_id: uuid.UUID | None) -> LLMPort | None:
        """The model one org's step may use, behind that org's budget; None means rules only.

        ``llm`` is None exactly when ``LLM_MODEL=rules`` and no test injected a model; an
        injected model is budgeted and recorded like the real one, so tests see the same gate.
        """
        if self.llm is None:
            return None
        return BudgetedLLM(
            self.llm,
            sessions=self.sessions,
            clock=self.clock,
            org_id=org_id,
            rep_id=rep_id,
            monthly_budget_usd=self.monthly_budget_usd,
        )
