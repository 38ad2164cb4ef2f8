"""Cue tables for the situations besides an answer to a proposal (see :mod:`skills.intent_rules`).

A hand-over to someone else, an away note or a time the writer is away, confusion about who
we are, moving or deferring the meeting, and the reply's tone.
"""

from __future__ import annotations

import re

from skills.intent_rules import CLEAR, DECISIVE, WEAK, Cue, cue

DELEGATE: tuple[Cue, ...] = (
    cue(
        "loop in",
        r"\b(?:loop(?:ing)?|looped|bring(?:ing)?|brought|add(?:ing|ed)?|cc'?(?:ing|ed|'d|d)"
        r"?|copy(?:ing)?|copied|include|including)\b.{0,40}\b(?:in|on|here|to this|into this)\b"
        r"|\bcc'?(?:ing|ed|'d|d)\b|\bcopying\b",
        CLEAR,
    ),
    cue(
        "reach out to",
        r"\b(?:reach out to|get in touch with|contact|speak (?:with|to)|talk to|"
        r"work with|coordinate with|schedule (?:this |it )?with|set (?:this|it) up with|"
        r"connect with|forward(?:ing|ed)? (?:this|it|your \w+) to|email)\b",
        WEAK,
    ),
    cue(
        "right person",
        r"\b(?:right|best|better|correct|appropriate) (?:person|contact|people|"
        r"team|one)\b|\b(?:handles|manages|owns|runs|oversees|in charge of|responsible for|point of"
        r" contact|takes care of)\b|\b(?:my|our) (?:colleague|assistant|ea|manager|boss|"
        r"teammate|co-?worker|head of|vp|director)\b|\bon my behalf\b",
        CLEAR,
    ),
    # Sending someone in the writer's place: "one of you could speak", "ask Ana to meet you in
    # my place", "check with his assistant".
    cue(
        "in my place",
        r"\bin (?:my|his|her|our) (?:place|stead)\b|\binstead of (?:me|him|her|us)\b"
        r"|\bone of (?:you|your (?:team|people|colleagues))\b.{0,30}\b(?:attend|speak|go|join"
        r"|present|cover|come)\b|\b(?:send|sending) (?:someone|somebody|a colleague|one of)\b"
        r"|\bcheck with (?:my|his|her|their|\w+'s) (?:assistant|secretary|office|calendar)\b"
        r"|\b(?:ask|asked|asking) \w+ to (?:meet|see|call|attend|join|speak|present|talk)\b",
        DECISIVE,
    ),
    # A scheduling chore handed to the person addressed (an assistant): "please set up a
    # meeting", "would you please check my calendar".
    cue(
        "arrange it",
        r"\bplease,? (?:set ?up|arrange|organi[sz]e|schedule|book|re-?schedule|set) (?:a |the |"
        r"this |that )?(?:meeting|call|time|appointment)\b|\b(?:please|would you|could you|can "
        r"you)(?: please)?,? check (?:my|his|her|\w+'s) calendar\b|\bto set ?up a (?:meeting|"
        r"call|time)\b|\bplease,? set (?:a|up a) meeting with\b",
        DECISIVE,
    ),
)

OUT_OF_OFFICE: tuple[Cue, ...] = (
    cue(
        "auto reply",
        r"\bout of (?:the )?office\b|\booo\b|\bautomatic reply\b|\bauto-?reply\b"
        r"|\bautoreply\b|\bthis is an automated\b",
        DECISIVE,
    ),
    cue(
        "away",
        r"\b(?:currently|presently) (?:away|out|on leave|travell?ing|on vacation|on holiday)"
        r"\b|\b(?:on|taking) (?:annual |parental |maternity |paternity |medical |sick |personal )?"
        r"(?:leave|vacation|holiday|pto|sabbatical)\b|\baway from (?:the office|my desk|email|my "
        r"email)\b",
        CLEAR,
    ),
    cue(
        "limited access",
        r"\blimited (?:access|connectivity)\b|\b(?:no|limited) access to "
        r"(?:email|e-mail)\b|\bdelayed (?:response|reply)\b|\bfor (?:urgent|immediate) (?:matters|"
        r"requests|issues|assistance|inquiries)\b|\bif (?:this|it|your matter) is urgent\b",
        DECISIVE,
    ),
    cue(
        "when i return",
        r"\b(?:respond|reply|get back to you|answer)\b.{0,40}\b(?:when|upon|after|on)"
        r" (?:i|my) return\b|\b(?:will|'ll|shall|should|would) be (?:back|returning)\b"
        r"|\breturning (?:to the office )?on\b|\bback in the office\b|\bback on\b"
        r"|\b(?:won'?t|will not) be back (?:until|till|before)\b|\b(?:until|till|when|once) i "
        r"(?:get|come) back\b|\bon my return\b",
        CLEAR,
    ),
    cue("absence", r"\bin my absence\b|\bwhile i(?:'m| am) (?:away|out|gone)\b", DECISIVE),
)

# Words pointing back at the time we asked about ("I'm out of town that day").
THAT_TIME = re.compile(
    r"\bthat (?:day|date|week|morning|afternoon|evening|time|night)\b|\bon the day\b"
    r"|\bthen\b(?!\s*(?:we|i|you|let))",
)

# The writer is away at a time ("I'm in London next week", "I am off on Wednesday", "I'll be out
# this afternoon"): that time is out, never a counter-proposal of it. Places need a capital
# letter, so that pattern lives in :mod:`skills.intent_signals`.
AWAY_TIME: tuple[Cue, ...] = (
    cue(
        "away then",
        r"\b(?:i|we)(?:'m| am|'re| are|'ll be| will be| shall be| should be| will be| be) (?:out"
        r"(?! of (?:ideas|time|luck|options))|away|off|gone|travell?ing|on the road|on (?:vacation"
        r"|holiday|leave|a trip|business travel)|out of (?:town|the country|the office|pocket)"
        r"|abroad)\b",
        CLEAR,
        negatable=True,
    ),
)

CONFUSED: tuple[Cue, ...] = (
    cue(
        "who is this",
        r"\bwho (?:is|are) (?:this|you)\b|\bwho gave you\b|\bhow did you get my\b"
        r"|\bdo (?:i|we) know (?:you|each other)\b",
        DECISIVE,
    ),
    cue(
        "what is this",
        r"\bwhat(?:'s| is) this (?:about|regarding|for|in reference to)\b|\bwhat is"
        r" this\?|\bwhat (?:meeting|call|demo)\b|\bwhich (?:meeting|call|demo)\b|\bwhat are you "
        r"(?:talking|referring) (?:about|to)\b",
        DECISIVE,
    ),
    cue(
        "never asked",
        r"\b(?:i|we) (?:never|didn'?t|did not|haven'?t|have not) (?:request|ask|"
        r"sign|book|agree|schedule|set up|want)(?:ed)?\b",
        DECISIVE,
    ),
    cue(
        "wrong person",
        r"\bwrong (?:person|email|address|contact|guy|number|company|account)\b|"
        r"\byou (?:must|may|might) have (?:me confused|the wrong)\b|\bmistaken\b|\bin error\b",
        DECISIVE,
    ),
    cue(
        "not understood",
        r"\b(?:i'?m|i am|we'?re|we are) (?:confused|lost|puzzled)\b|\bi don'?t "
        r"(?:understand|follow|get it)\b|\bnot sure (?:what|why) (?:this|you|i)\b|\bconfusing\b",
        CLEAR,
    ),
    cue(
        "correcting us",
        r"\bthat'?s not what (?:i|we) (?:said|agreed|asked)\b|\b(?:i|we) (?:already"
        r" )?(?:told|said) (?:you|that) (?:already|before)\b|\balready told you\b|\bwe already "
        r"(?:met|spoke|talked|have a (?:meeting|call))\b|\bi (?:no longer|don'?t) work (?:at|for|"
        r"there)\b|\bleft the company\b",
        CLEAR,
    ),
)

RESCHEDULE: tuple[Cue, ...] = (
    cue(
        "reschedule",
        r"\bre-?schedul(?:e|ing)\b|\bpostpone\b|\bpush (?:our|the|this|it|that|"
        r"tomorrow'?s|today'?s)\b.{0,25}\b(?:back|out|later)\b|\b(?:move|shift|bump) (?:our|the|"
        r"this|tomorrow'?s|today'?s) (?:meeting|call|chat|demo|session|appointment)\b",
        DECISIVE,
    ),
    # The organiser's notice that an agreed meeting moved: "has been moved to", "we have
    # rescheduled the call for", "is now at 3".
    cue(
        "moved",
        r"\b(?:has|have|had) been (?:re-?scheduled|moved|changed|pushed|postponed|shifted|bumped"
        r"|brought forward)\b|\b(?:we|i)(?:'ve| have)? (?:re-?scheduled|moved|changed|pushed|"
        r"shifted|postponed) (?:the|our|this|your|tomorrow'?s|today'?s)\b|\b(?:is|are) now "
        r"(?:scheduled|set|planned|booked)\b|\bis still (?:scheduled|set|planned|on) for\b"
        r"|\bre-?scheduled (?:for|to)\b|\b(?:was|were|got) (?:re-?scheduled|moved|pushed|postponed|"
        r"shifted|bumped|brought forward)\b",
        DECISIVE,
    ),
    cue(
        "came up",
        r"\bsomething (?:urgent )?(?:came|has come) up\b|\b(?:a|an) (?:conflict|"
        r"emergency) (?:came|has come) up\b",
        CLEAR,
    ),
)

# Wanting to meet, but later: with a horizon this is `reschedule` ("circle back next quarter").
DEFER: tuple[Cue, ...] = (
    cue(
        "circle back",
        r"\b(?:circle|check|come|get) back\b|\btouch base\b|\breconnect\b|\brevisit"
        r"\b|\bfollow[- ]up\b|\bping me\b|\btry (?:me|us) again\b|\breach out (?:again|then|later|"
        r"in|next|after|around)\b|\bget in touch (?:again|later|in|next|after)\b"
        r"|\bconnect (?:again|later|in|next|after)\b|\bpick (?:this|it) (?:back )?up\b",
        CLEAR,
    ),
    cue(
        "not now",
        r"\bnot (?:right )?now\b|\bnot (?:at|for) (?:this|the) (?:time|moment)\b|\bnot "
        r"yet\b|\bmaybe later\b|\bhold off\b|\bnot (?:a|the) (?:good|right|best) time\b|\btoo "
        r"(?:early|soon)\b|\b(?:busy|swamped|slammed|underwater|heads[- ]down)\b|\bno budget\b|"
        r"\bbandwidth\b",
        CLEAR,
    ),
)

POSITIVE: tuple[Cue, ...] = (
    cue(
        "warm",
        r"\b(?:thanks|thank you|great|perfect|excellent|wonderful|awesome|love|happy|glad|"
        r"excited|looking forward|appreciate|sounds good|fantastic|nice|cool)\b",
        WEAK,
        negatable=True,
    ),
)

NEGATIVE: tuple[Cue, ...] = (
    cue(
        "hostile",
        r"\bunsubscribe\b|\bremove me\b|\bstop (?:emailing|contacting|sending|"
        r"messaging)\b|\bspam\b|\bannoy(?:ed|ing)\b|\bfrustrat(?:ed|ing)\b|\bwaste of (?:my )?time"
        r"\b|\bridiculous\b|\balready told you\b|\bharass\w*\b|\bleave me alone\b|\bnot interested"
        r"\b|\bdisappoint\w*\b|\bunacceptable\b",
        CLEAR,
    ),
    cue("upset", r"\b(?:unfortunately|sorry|regret|sadly)\b", WEAK),
    # Bad news said around a yes ("unfortunately ..., see you next week"): the yes is in doubt.
    cue("regret", r"\b(?:unfortunately|regrettably|sadly|i'?m afraid|i regret)\b", WEAK),
)
