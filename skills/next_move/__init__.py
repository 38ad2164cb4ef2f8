"""The agent's next move on a meeting request, per attendee and per event (seed 003).

Pure rules, no I/O and no clock. :mod:`skills.decide` is the entry that runs them;
``model`` holds what they read and return, ``attendee`` and ``event`` the two levels of rules.
Not to be confused with the rep's decision cards (``orchestrator/commands/decision_cards.py``,
drawn by ``bot/decision_blocks.py``): those are what the rep answers once a rule here asks for them.
"""
