"""Which steps each event type runs, in order. A sequence is data."""

from __future__ import annotations

from orchestrator.engine.event_types import EventType
from orchestrator.engine.events import Step
from orchestrator.steps import (
    assess,
    brief,
    copied,
    delegate,
    find_times,
    follow_up,
    meeting,
    negotiate,
    replies,
    respond,
    scheduling,
    transcripts,
)

SEQUENCES: dict[EventType, list[Step]] = {
    EventType.scheduling_requested: [
        Step("find_slots", scheduling.find_slots),
        Step("draft_initial_email", scheduling.draft_initial_email, approval=True),
        Step("record_sent", scheduling.record_sent),
    ],
    # The rep rejected the first email with a note on which times to offer (record_sent).
    EventType.redraft_requested: [
        Step("find_slots", scheduling.find_slots),
        Step("draft_initial_email", scheduling.draft_initial_email, approval=True),
        Step("record_sent", scheduling.record_sent),
    ],
    EventType.email_received: [
        Step("understand_reply", replies.understand_reply),
        Step("assess", assess.assess),
        Step("tell_rep", replies.tell_rep),
        Step("respond", respond.respond, approval=True),
        Step("propose_confirmation", negotiate.propose_confirmation, approval=True),
        Step("record_reply_outcome", negotiate.record_reply_outcome),
    ],
    # The rep answered a decision card (orchestrator.commands.decision_cards).
    EventType.decision_made: [
        Step("act_on_decision", respond.act_on_decision, approval=True),
        Step("propose_confirmation", negotiate.propose_confirmation, approval=True),
        Step("record_reply_outcome", negotiate.record_reply_outcome),
    ],
    # The rep confirmed someone a reply named (`commands.decision_cards.confirm_recipient`).
    # The drafting step is `respond` so the sent note is recorded as any reply of ours.
    EventType.recipient_confirmed: [
        Step("respond", delegate.add_confirmed, approval=True),
        Step("record_reply_outcome", delegate.record_outcome),
    ],
    EventType.recipient_declined: [Step("record_declined", delegate.record_declined)],
    EventType.copied_added: [
        Step("invite_copied", copied.invite_copied, approval=True),
        Step("record_copied", copied.record_copied),
    ],
    EventType.follow_up_due: [
        Step("check_follow_up", follow_up.check_follow_up),
        Step("draft_follow_up", follow_up.draft_follow_up, approval=True),
        Step("record_follow_up", follow_up.record_follow_up),
    ],
    EventType.morning_brief_due: [Step("send_brief", brief.send_brief)],
    # The clock, on the meeting's day (orchestrator.steps.meeting_times.reminder_at).
    EventType.reminder_due: [
        Step("check_reminder", meeting.check_reminder),
        Step("draft_reminder", meeting.draft_reminder, approval=True),
        Step("record_reminder", meeting.record_reminder),
    ],
    # The clock, ten minutes after the meeting's end: Held · No-show · Rescheduled card.
    EventType.meeting_ended: [Step("ask_about_meeting", meeting.ask_about_meeting)],
    # The rep answered that card with no-show or rescheduled (orchestrator.commands.own_requests).
    EventType.meeting_recovery: [
        Step("draft_recovery", meeting.draft_recovery, approval=True),
        Step("record_recovery", meeting.record_recovery),
    ],
    # `/schedule times`: the rep picks from the times found before anything is drafted.
    EventType.calendar_find_times: [
        Step("find_times", find_times.find_times),
        Step("offer_times", find_times.offer_times),
    ],
    # The rep's pick in that time picker (orchestrator.steps.find_times.choose).
    EventType.calendar_times_chosen: [
        Step("act_on_choice", find_times.act_on_choice, approval=True),
        Step("record_choice", find_times.record_choice),
    ],
    # A meeting's transcript arrived (orchestrator.commands.transcripts): the recap email.
    EventType.transcript_received: [
        Step("plan_due_reminders", transcripts.plan_due_reminders),
        Step("offer_meetings", transcripts.offer_meetings),
        Step("draft_recap", transcripts.draft_recap, approval=True),
        Step("record_recap", transcripts.record_recap),
    ],
    # Started by plan_due_reminders; the step waits (run_after) until the due morning.
    EventType.commitment_due: [Step("remind_commitment", transcripts.remind_commitment)],
}
