"""Scripted conversations: a rep, a prospect and the clock taking turns on the running stack.

A conversation is a name and a list of turns. A turn is one thing a person (or the clock, or a
mail server) does, or one expectation about where things stand afterwards; each carries the
sentence that describes it, so a failure reads like "conversation 'x', turn 7 (prospect
john@acme.example replies 'Tuesday works'): ...". Turns are built by plain functions and run in
order against a World, which remembers what the script has seen so far (the times each email
offered, the prospect's replies, the DMs already read).

Nothing here reaches into the product's internals: the rep acts through signed Slack requests,
the prospect through the embedded mailbox, time through the manual clock and the clock's tick.
The only direct writes are facts the outside world owns: events on a calendar, the time zone a
CRM knows for a prospect (Slack offers no field for it yet), and a mail cursor rewound to stand
in for a poller that crashed after reading.

Where things live:
    world         who takes part, and the World: what the script has seen, read off the stack
    script        Turn, Conversation and play()
    times         times the script refers to, and reading times out of an email's text
    outside       turns by the world around: calendars, a CRM's zones, the clock
    rep_slack     turns by the rep in Slack
    prospect_mail turns on the prospect's side: replies, auto-replies, bounces
    expectations  the expect_* turns
"""
