"""A transform the handler tests pickle into a model: it raises on any text containing POISON.

It stands for "the model cannot handle this record" (the vectorised predict raises), which a
plain TF-IDF model never does. Both the training and the handler's interpreter import it from here.
"""

from __future__ import annotations

from collections.abc import Sequence

POISON = "POISON"


def reject_poison(texts: Sequence[str]) -> Sequence[str]:
    for text in texts:
        if POISON in text:
            raise ValueError("poisoned input")
    return texts
