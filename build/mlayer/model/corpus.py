"""A synthetic, seeded corpus of customer support tickets in four classes, made offline.

Each ticket is an opener, a class-specific core (some of which share words with other classes:
"charged" appears in account tickets, "login" in outage tickets), an optional detail and an
optional closer, all drawn from one `random.Random(seed)`. A small share of labels is flipped, as
in any real ticket queue, so accuracy is meaningful (high, not 100%) and the model has to weigh
evidence rather than match one keyword. Same seed -> same corpus on every machine and Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CLASSES = ("account", "billing", "feedback", "outage")

_OPENERS = (
    "hi,", "hello team,", "hey,", "good morning,", "urgent:", "quick question:", "not sure who to ask but",
    "following up:", "", "", "", "dear support,",
)  # fmt: skip
_CLOSERS = (
    "thanks", "please help", "thank you in advance", "any update?", "cheers", "regards", "asap please", "", "", "",
)  # fmt: skip
_PRODUCTS = ("the app", "the dashboard", "the mobile app", "the web portal", "the api", "your service", "the website")
_TIMES = ("since this morning", "since yesterday", "for an hour", "today", "after the update", "since last week", "again")

_CORES: dict[str, tuple[str, ...]] = {
    "billing": (
        "i was charged twice for my subscription",
        "my invoice shows the wrong amount",
        "please refund the duplicate payment",
        "why did my monthly bill go up",
        "the credit card payment failed but money left my bank",
        "i need a copy of last month's invoice",
        "can you cancel the renewal charge",
        "the pricing on my receipt does not match the plan",
        "i was billed after i cancelled",
        "update the billing address on my invoices",
        "the coupon code was not applied to my payment",
        "tax on the invoice is wrong",
        "we were overcharged on the annual plan",
        "how do i get a refund for the unused months",
    ),
    "outage": (
        "{product} is down",
        "{product} returns error 503",
        "{product} is not loading at all",
        "we get timeouts from {product}",
        "the servers seem to be offline",
        "{product} crashes on startup",
        "pages are extremely slow and then fail",
        "login page does not load, the whole site is down",
        "nothing works, every request fails",
        "the api is returning 500 errors for all calls",
        "sync stopped working and the status page shows nothing",
        "our integration cannot connect, connection refused",
        "the service is unavailable in our region",
        "uploads hang forever and never finish",
    ),
    "account": (
        "i cannot log in to my account",
        "please reset my password",
        "how do i change the email on my account",
        "my account is locked after too many attempts",
        "two factor codes are not arriving",
        "delete my account and my data",
        "i want to add a new user to our team account",
        "the password reset link has expired",
        "how do i change my username",
        "my profile settings are not saving",
        "someone else may have accessed my account",
        "merge my two accounts please",
        "i lost access to the email linked to my login",
        "remove a former employee from our account",
    ),
    "feedback": (
        "i love the new design",
        "great job on the latest release",
        "it would be nice to have a dark mode",
        "the new dashboard is confusing",
        "please add an export to csv feature",
        "your support team was very helpful",
        "the onboarding was smooth and easy",
        "suggestion: let us customise the reports",
        "the mobile app feels much faster now",
        "i miss the old layout, the new one is harder to use",
        "keep up the good work",
        "would love keyboard shortcuts",
        "the documentation could use more examples",
        "really happy with the product overall",
    ),
}

# Details that blur the classes: they mention another class's words.
_DETAILS: dict[str, tuple[str, ...]] = {
    "billing": ("on my account page", "the payment page loads fine", "order number {n}", "for {n} seats", "in {product}"),
    "outage": ("for all our users", "{time}", "our customers are affected", "it says error {n}", "cannot even log in"),
    "account": ("{time}", "for user number {n}", "on {product}", "my plan is the business one", "i still get the invoices"),
    "feedback": ("about {product}", "{time}", "the team loves it", "compared to the old version", "not a bug, just an idea"),
}


@dataclass(frozen=True)
class Ticket:
    text: str
    label: str


def _fill(template: str, rng: random.Random) -> str:
    return template.format(product=rng.choice(_PRODUCTS), time=rng.choice(_TIMES), n=rng.randint(100, 9999))


def _ticket(label: str, rng: random.Random) -> str:
    parts = [rng.choice(_OPENERS), _fill(rng.choice(_CORES[label]), rng)]
    if rng.random() < 0.6:
        detail_class = label if rng.random() < 0.7 else rng.choice(CLASSES)
        parts.append(_fill(rng.choice(_DETAILS[detail_class]), rng))
    parts.append(rng.choice(_CLOSERS))
    return " ".join(part for part in parts if part)


def make_corpus(per_class: int = 300, seed: int = 20190104, label_noise: float = 0.04) -> list[Ticket]:
    """per_class tickets of each class, shuffled; `label_noise` of the labels flipped to another class."""
    rng = random.Random(seed)
    tickets = [Ticket(_ticket(label, rng), label) for label in CLASSES for _ in range(per_class)]
    rng.shuffle(tickets)
    noisy = []
    for ticket in tickets:
        if rng.random() < label_noise:
            ticket = Ticket(ticket.text, rng.choice([c for c in CLASSES if c != ticket.label]))
        noisy.append(ticket)
    return noisy


def split(tickets: list[Ticket], test_fraction: float = 0.25) -> tuple[list[Ticket], list[Ticket]]:
    """(train, test): the corpus is already shuffled, so the last test_fraction is held out."""
    cut = len(tickets) - int(len(tickets) * test_fraction)
    return tickets[:cut], tickets[cut:]


# The long tail of a real ticket queue: identifiers that are rare or unique, as in the seed's data.
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "do", "fe", "gu", "ha", "ji", "pe", "qu", "wy")


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _long_tail_token(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return f"sku{rng.randint(0, 999_999):06d}"  # product code
    if kind < 0.7:
        return f"tk{rng.getrandbits(32):08x}"  # ticket id
    return f"{_name(rng)} {_name(rng)}"  # customer name


def with_long_tail(tickets: list[Ticket], seed: int, tokens_per_ticket: int = 4) -> list[Ticket]:
    """The same tickets (labels unchanged), each with ~tokens_per_ticket seeded random ids and names mixed in."""
    rng = random.Random(seed)
    out = []
    for ticket in tickets:
        words = ticket.text.split(" ")
        for _ in range(rng.randint(1, 2 * tokens_per_ticket - 1)):
            words.insert(rng.randint(0, len(words)), _long_tail_token(rng))
        out.append(Ticket(" ".join(words), ticket.label))
    return out
