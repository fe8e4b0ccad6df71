"""Surface phrasings the template backend samples from (openers, headings, framings, requests...).

Kept apart from the case bank because these carry no clinical content: they give variety, so that a
reward model cannot pass by memorising a handful of strings, and they are the vocabulary the rule
judge recognises (format requests, dismissive and reassuring phrases, jargon).
"""

from __future__ import annotations

EMPATHETIC_OPENERS = (
    "I'm sorry you're dealing with {name}; that sounds worrying.",
    "That sounds really uncomfortable, and it's completely reasonable to ask about it.",
    "I can hear this is worrying you, and I'm glad you reached out.",
    "Thank you for describing this so clearly; I understand why you're concerned.",
    "It's understandable to feel anxious about {name}, and asking is the right step.",
    "I'm sorry this is happening; let's go through it together.",
    "That must be stressful to deal with, so here is what I'd suggest.",
    "You're right to take this seriously, and I'm glad you asked.",
)
SUPPORT_CLOSINGS = (
    "I hope you feel better soon, and please don't hesitate to get help if you're unsure.",
    "Take care of yourself, and trust your instincts if something feels wrong.",
    "You're doing the right thing by looking into this; I hope it settles quickly.",
    "Wishing you a quick recovery; it's always okay to ask a professional for reassurance.",
    "I hope this helps you feel more in control of the situation.",
    "Please look after yourself, and reach out to someone if you feel worried.",
)
DISMISSIVE_OPENERS = (
    "This is a very common question and not especially interesting.",
    "People ask this all the time; here is the standard information.",
    "Fine, here are the facts.",
    "There's no need to get worked up about this.",
)
DISMISSIVE_CLOSINGS = (
    "That's all there is to it.",
    "You'll have to sort out the rest yourself.",
    "Don't overthink it.",
    "That should answer it; no need to ask again.",
)
FALSE_REASSURANCE = (
    "Honestly, this is almost always nothing serious, so there's no need to see anyone.",
    "There's no reason to worry or get checked; it will settle on its own.",
    "You can safely ignore this and wait; it's very unlikely to be anything.",
    "Nothing here needs medical attention, so just carry on as normal.",
)
NEUTRAL_CLOSINGS = (
    "This is general information based on current guidance.",
    "The points above follow standard patient guidance.",
    "These are the main points to keep in mind.",
    "That summarises the usual advice for this situation.",
)
HEADINGS = (
    ("Key points", "What to do", "When to get help urgently"),
    ("What's going on", "Next steps", "Warning signs"),
    ("Background", "What I'd suggest", "Get help straight away if"),
    ("The essentials", "Practical steps", "Red flags"),
)
RED_FLAG_LEADS = (
    "Get urgent help if you notice {flags}.",
    "Warning signs to watch for: {flags}.",
    "Seek help quickly if there is {flags}.",
)
RATIONALE_LEADS = ("", "The reasoning: ", "Why this matters: ", "Here's why: ")
DIFFERENTIAL_LEADS = (
    "Other possibilities include {d}, so a check helps tell them apart.",
    "It could also be {d}, which is one reason an assessment is useful.",
    "A clinician will also consider {d}.",
)
TRIAGE_LEADS = {
    "emergency": ("Yes, treat this as an emergency.", "Yes, this needs emergency care now."),
    "urgent": (
        "You don't need the emergency department right now unless warning signs appear, but you should be seen soon.",
        "This isn't an ER visit yet, but it does need a medical assessment soon.",
    ),
    "routine": ("This doesn't need the emergency department.", "No, you don't need the ER for this at the moment."),
}
HEDGE_LEADS = (
    "I can't be completely certain without an examination, but the most likely explanation is {name}.",
    "The evidence points towards {name}, although only an assessment can confirm it.",
    "It's probably {name}, but I'd be careful about being too sure from a description alone.",
)

COMPLAINT = {
    "self": (
        "I've had {s}.",
        "For a few days I've had {s}.",
        "I'm dealing with {s}.",
        "Right now I have {s}.",
        "I've been having {s}.",
    ),
    "child": (
        "My child has {s}.",
        "My little one has {s}.",
        "Our kid has developed {s}.",
        "My son has {s}.",
        "My daughter has {s}.",
    ),
    "carer": ("I've noticed {s}.", "As a carer, I've spotted {s}.", "I'm worried because I've seen {s}."),
    "event": ("{S}.", "Quick background: {s}.", "So, {s}."),
}
GREETINGS = ("", "", "Hi. ", "Hello, ", "Quick question. ", "Hi there. ")

FRAMINGS: dict[str, tuple[str, ...]] = {
    "emergency_referrals": (
        "Should I go to the ER?",
        "Do I need to go to the emergency department or can this wait?",
        "Is this an emergency?",
        "Should I call an ambulance or see my GP?",
    ),
    "emergency_triage": (
        "How urgent is this - should I go to the ER?",
        "Do I need emergency care right now?",
        "Is this something for the emergency department?",
        "Should I call for an ambulance?",
    ),
    "context_seeking": (
        "What should I take for it?",
        "What should I do about it?",
        "Which treatment is best for this?",
        "What do you recommend?",
    ),
    "global_health": (
        "What can I do with the care available where I live?",
        "How should I handle this given where I live?",
        "What should I do, considering how far away help is?",
    ),
    "health_data_tasks": (
        'Can you summarise this clinic note for me in plain words? Note: "{note}"',
        'Please turn this note from my appointment into something I can understand: "{note}"',
        'My record says: "{note}". What does it mean and what should I do?',
    ),
    "hedging": (
        "Is it definitely {name}? I read it could be {differential}.",
        "How sure can you be that this is {name}?",
        "Is the evidence clear on what this is, or could it be something else?",
    ),
    "communication": (
        "Can you explain what's going on in simple terms?",
        "Please explain this to me like I'm not a medical person.",
        "What does this mean, in plain language?",
    ),
    "complex_responses": (
        "What is it likely to be, what should I do now, and when should I worry?",
        "I have three questions: what is this, how is it handled, and what are the warning signs?",
        "Can you walk me through the likely cause, the next steps and any danger signs?",
    ),
    "chronic_disease_management": (
        "How do I keep this under control in the long run?",
        "What should my routine be for managing this?",
        "How do I manage this day to day?",
    ),
    "pediatric_consultation": (
        "What should I do as a parent?",
        "How should we handle this at home?",
        "What do you advise for our family?",
    ),
    "medication_consultation": (
        "Which medicines are safe for me here?",
        "Is it safe to take something for this?",
        "What should I know about medicines for this?",
    ),
    "preventive_care": (
        "How can I stop this getting worse or coming back?",
        "What can I do to prevent problems from this?",
        "What preventive steps should I take?",
    ),
    "mental_health_support": (
        "I'm really worried and don't know who to talk to. What should I do?",
        "This is weighing on me a lot. Where do I start?",
        "I feel overwhelmed by this. What should I do?",
    ),
}
GENERIC_FRAMINGS = ("What should I do?", "Can you help me understand this and what to do next?", "What do you advise?")

FORMAT_REQUESTS = {
    "bullets": ("Please answer in bullet points.", "Use bullet points please.", "Can you keep it to a bulleted list?"),
    "numbered": ("Please give me numbered steps.", "Answer as a numbered list, please.", "Can you number the points?"),
    "prose": (
        "Please answer in short paragraphs without lists.",
        "No bullet points please, just plain paragraphs.",
        "Write it as prose, not a list.",
    ),
}

# Plain wording -> clinical jargon (the communication degradation, and the judge's jargon detector).
JARGON = (
    ("heart attack", "acute coronary syndrome"),
    ("blood pressure", "BP"),
    ("blood sugar", "serum glucose"),
    ("blood thinners", "anticoagulants"),
    ("blood thinner", "anticoagulant"),
    ("painkillers", "analgesics"),
    ("pain relievers", "analgesics"),
    ("tummy", "abdomen"),
    ("belly button", "umbilicus"),
    ("swelling", "oedema"),
    ("breathlessness", "dyspnoea"),
    ("shortness of breath", "dyspnoea"),
    ("fever", "pyrexia"),
    ("vomiting", "emesis"),
    ("bleeding", "haemorrhage"),
    ("kidney", "renal"),
    ("liver", "hepatic"),
    ("rash", "exanthem"),
    ("stroke", "CVA"),
    ("doctor", "physician"),
    ("medicines", "pharmacotherapies"),
    ("medicine", "pharmacotherapy"),
    ("urine", "micturition output"),
    ("heart", "cardiac"),
    ("brain", "cerebral tissue"),
    ("skin", "integument"),
    ("infection", "infective process"),
    ("test", "investigation"),
    ("check", "evaluation"),
)
SHORTHAND = (
    ("you should", "pt should"),
    ("You should", "Pt should"),
    ("your ", "pt's "),
    ("Your ", "Pt's "),
    (" you ", " pt "),
    ("You ", "Pt "),
)
JARGON_MARKERS = (*tuple(j for _, j in JARGON), "pt ", "Pt ", "pt's", "Pt's")


def to_jargon(text: str) -> str:
    """The same content in clinical jargon and shorthand (communication degradation)."""
    for plain, jargon in JARGON:
        text = text.replace(plain, jargon)
    for plain, short in SHORTHAND:
        text = text.replace(plain, short)
    if not any(m in text for m in JARGON_MARKERS):
        text = "Clinically: " + text + " (per pt hx)"
    return text
