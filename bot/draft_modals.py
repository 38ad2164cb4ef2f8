"""Modals opened from an approval card: edit the draft, or say why it is rejected."""

from __future__ import annotations

from typing import Any

from orchestrator.views import ActionView

EDIT_CALLBACK = "edit_draft"
REJECT_CALLBACK = "reject_draft"
BODY_LIMIT = 3000  # Slack's plain_text_input max_length


def _text_input(
    block_id: str,
    label: str,
    value: str,
    *,
    multiline: bool,
    optional: bool = False,
    max_length: int = BODY_LIMIT,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if value:
        element["initial_value"] = value[:max_length]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def edit_view(view: ActionView) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": EDIT_CALLBACK,
        "private_metadata": f"{view.action_id}:{view.draft_version}",
        "title": {"type": "plain_text", "text": "Edit draft"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input("subject", "Subject", view.subject, multiline=False, max_length=200),
            _text_input("body", "Email", view.body, multiline=True),
        ],
    }


def edit_target(metadata: str) -> tuple[str, int | None]:
    """(the draft's id, the version the modal was opened on; None when it does not say)."""
    action_id, _, version = metadata.partition(":")
    return action_id, int(version) if version.isdigit() else None


def reject_view(view: ActionView) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": view.action_id,
        "title": {"type": "plain_text", "text": "Reject draft"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Keep it"},
        "blocks": [
            _text_input(
                "reason",
                "What should change? (optional)",
                "",
                multiline=True,
                optional=True,
                max_length=500,
            )
            | {
                # skills/rep_note.py reads these; anything else is kept on the record.
                "hint": {
                    "type": "plain_text",
                    "text": 'Name times, e.g. "not Mondays" or "afternoons only", and a '
                    "first email comes back redrafted with other times.",
                }
            },
        ],
    }


def read_edit(values: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(edits, field errors)."""
    subject = (values["subject"]["subject"].get("value") or "").strip()
    body = (values["body"]["body"].get("value") or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = "The email needs a subject."
    if not body:
        errors["body"] = "The email can't be empty."
    return {"subject": subject, "body": body}, errors
