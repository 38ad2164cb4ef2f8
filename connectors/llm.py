"""The language model behind :class:`connectors.ports.LLMPort`, reached through litellm.

One call, one answer: litellm's own retries and the openai SDK's are switched off
(``num_retries=0``, ``max_retries=0``) because the orchestrator owns retries and backoff, and a
hidden retry loop would triple the latency and the bill of a failing provider.

The answer is never trusted because the provider was asked for a strict JSON schema: it is
parsed and validated here against the same pydantic model, fields outside the schema are
dropped, and anything else (not JSON, a wrong enum, a missing field, no content) is an
:class:`LLMError`. Every failure that leaves :meth:`LiteLLMClient.complete` is an ``LLMError``,
so a skill only has to catch that one to fall back to its rules; the transient ones are also
:class:`~connectors.errors.TransientError` subclasses for callers that would rather retry.

litellm is imported on the first call, not at module import: importing it takes seconds, and
without ``LITELLM_LOCAL_MODEL_COST_MAP`` it fetches a price list from GitHub at import time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.clock import SystemClock
from connectors.errors import PermanentError, RateLimited, TransientError
from connectors.http_errors import error_for, header, retry_after
from connectors.ports import Clock, LLMError, LLMReply

# How much of a provider's error text is kept in our message: enough to debug a bad request,
# short enough that a chatty provider cannot flood the logs.
ERROR_TEXT_LIMIT = 200


@dataclass(frozen=True)
class LLMSpend:
    """Tokens and money a call consumed, whether or not its answer was usable."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class LLMUnavailable(LLMError, TransientError):
    """Timeout, lost connection or a 5xx: the same request may work later."""


class LLMRateLimited(LLMError, RateLimited):
    """The provider said 429; ``retry_after`` (seconds) when it said how long to wait."""


class LLMRejected(LLMError, PermanentError):
    """A 4xx other than 429 (bad key, unknown model, a schema the provider refuses): retrying
    the same request cannot help."""


class LLMAnswerInvalid(LLMError):
    """The provider answered, but not with JSON matching the schema.

    ``spent`` carries what the answer cost, so the budget still counts a paid-for bad answer.
    """

    def __init__(self, message: str, *, spent: LLMSpend) -> None:
        super().__init__(message)
        self.spent = spent


def load_litellm() -> Any:
    """Import litellm without letting the import reach the network or print banners."""
    # Must be set before the first import: litellm reads it at import time.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # Otherwise every provider error prints a "Give Feedback / Get Help" banner to stdout.
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMClient:
    """:class:`LLMPort` over ``litellm.completion``; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout_seconds: float = 20.0,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` dates a Retry-After given as an HTTP-date (the system clock by default)."""
        self._clock = clock or SystemClock()
        self.model = model
        self.api_base = api_base or None
        self._api_key = api_key or None  # private: never in a repr, a log line or an error
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return f"LiteLLMClient(model={self.model!r}, api_base={self.api_base!r}, api key {key})"

    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMReply:
        litellm = load_litellm()
        try:
            response = litellm.completion(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                # A pydantic class: litellm sends it as a strict `json_schema` response format.
                response_format=schema,
                temperature=0,
                timeout=self.timeout_seconds,
                num_retries=0,
                max_retries=0,
                api_base=self.api_base,
                api_key=self._api_key,
            )
        except Exception as error:  # noqa: BLE001 - every failure must reach callers as LLMError
            raise self._translate(litellm, error) from error
        spent = self._spent(litellm, response)
        data = parse_answer(_content(response), schema, spent=spent)
        return LLMReply(
            data=data,
            model=spent.model,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            cost_usd=spent.cost_usd,
        )

    def _spent(self, litellm: Any, response: Any) -> LLMSpend:
        usage = getattr(response, "usage", None)
        try:
            cost = float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # noqa: BLE001 - a model missing from the price map costs "unknown"
            cost = 0.0
        return LLMSpend(
            model=self.model,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=cost,
        )

    def _translate(self, litellm: Any, error: Exception) -> LLMError:
        """The litellm exception as ours: transient, rate-limited, rejected, or plain."""
        status = getattr(error, "status_code", None)
        text = str(error)
        if self._api_key:
            text = text.replace(self._api_key, "***")
        message = f"{type(error).__name__}: {text[:ERROR_TEXT_LIMIT]}"
        if isinstance(error, litellm.Timeout | litellm.APIConnectionError) and status != 429:
            return LLMUnavailable(message)
        if not isinstance(status, int) or status < 400:
            # Not an HTTP answer at all (a litellm bug, an unsupported parameter): not retryable
            # as far as we know, and still an LLMError so the caller escalates.
            return LLMError(message)
        headers = getattr(error, "litellm_response_headers", None)
        found = error_for(
            status,
            message,
            retry_after=retry_after(header(headers, "retry-after"), now=self._clock.now()),
        )
        if isinstance(found, RateLimited):
            return LLMRateLimited(message, retry_after=found.retry_after)
        if isinstance(found, TransientError):
            return LLMUnavailable(message)
        return LLMRejected(message)


def parse_answer(content: object, schema: type[BaseModel], *, spent: LLMSpend) -> BaseModel:
    """The model's text as an instance of ``schema``, or :class:`LLMAnswerInvalid`.

    Keys the schema does not name are dropped before validation, whatever the schema's own
    ``extra`` setting, so nothing the model invents can ride along into our data. Error
    messages name fields and error kinds only, never the model's text (which may echo an
    injected instruction from a prospect's email).
    """
    if not isinstance(content, str) or not content.strip():
        raise LLMAnswerInvalid("the model returned no text", spent=spent)
    try:
        raw = json.loads(content)
    except ValueError:
        raise LLMAnswerInvalid("the model's answer is not JSON", spent=spent) from None
    if not isinstance(raw, dict):
        raise LLMAnswerInvalid("the model's answer is not a JSON object", spent=spent)
    known = _field_keys(schema)
    try:
        return schema.model_validate({key: value for key, value in raw.items() if key in known})
    except ValidationError as error:
        problems = ", ".join(
            f"{'.'.join(str(part) for part in detail['loc']) or '(root)'}: {detail['type']}"
            for detail in error.errors()
        )
        raise LLMAnswerInvalid(f"answer outside the schema ({problems})", spent=spent) from None


def _field_keys(schema: type[BaseModel]) -> set[str]:
    """The top-level keys ``schema`` accepts: field names and their plain string aliases."""
    keys = set(schema.model_fields)
    for info in schema.model_fields.values():
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                keys.add(alias)
    return keys


def _content(response: Any) -> object:
    try:
        return response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return None
