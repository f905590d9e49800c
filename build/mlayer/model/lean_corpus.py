"""The texts a lean model must predict exactly as scikit-learn does before it may ship.

Generated from a fixed seed (the same corpus on every build): the registered samples, the
user's own texts (--verify-texts), and a stress set aimed at where a re-implementation drifts:
unicode case and accent rules, every general category, empty and whitespace-only texts, very
long texts, punctuation glued to words, random code points (lone surrogates included, which
scikit-learn's hashing refuses and so must the lean runtime). The model's own vocabulary is
added inside the build interpreter (mlayer.model._lean_export_script), where the model is loaded.
"""

from __future__ import annotations

import random

import unicodedata
from collections.abc import Sequence
from pathlib import Path

from ..errors import MlayerError

SEED = 20261130
MAX_VOCABULARY_TEXTS = 5000  # terms tried one per text; every term is also tried inside longer texts

FIXED = [
    "",
    " ",
    "\t\n\r\x0b\x0c",
    "\x00",
    "\x00word\x00",
    "İstanbul İSTANBUL ıi",
    "straße STRASSE Maß",
    "ﬁnance ﬂow ﬀ ﬃ",
    "東京の天気は晴れです 北京 서울",
    "👍🏽 great 🎉🎉 👨‍👩‍👧",
    "cafe\u0301 café CAFÉ naïve Ångström",
    "ΟΔΟΣ οδος Σίσυφος",
    "ǅungla ǆ ǈ",
    "١٢٣ ٤٥٦ ১২৩ ๑๒๓",
    "a_b __init__ snake_case_word",
    "punctuation-glued,words;like:this!and?that...end",
    "(parenthesised)[bracketed]{braced}<angled>",
    "e-mail: someone@example.com http://example.com/a?b=c#d",
    "tab\tseparated\tvalues and new\nlines",
    "ALL CAPS SHOUTING TEXT",
    "mIxEd CaSe WoRdS",
    "a b c d e f g h i j",
    "'quoted' \"double\" `back`",
    "1234567890 3.14159 1e10 -42",
    "\u200b\u200czero\u200dwidth\ufeff",
    "\u0130\u0131\u017f\u212a",  # İ ı ſ K: case mappings that change length or script
]

CATEGORY_SAMPLE = 6  # characters per unicode general category


def _characters_by_category() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for code in range(0x30000):
        char = chr(code)
        found.setdefault(unicodedata.category(char), []).append(char)
    return found


def stress_texts(seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    texts = list(FIXED)
    for category, chars in sorted(_characters_by_category().items()):
        picked = [rng.choice(chars) for _ in range(CATEGORY_SAMPLE)]
        texts.append("".join(picked))
        texts.append(" word".join(picked) + " end")
    for length in (1, 3, 10, 50):
        for _ in range(20):
            texts.append("".join(chr(rng.randrange(0x20, 0x30000)) for _ in range(length)))
    texts.append(chr(0xD800) + "lone surrogate")
    words = ["order", "refund", "Ärger", "crédit", "ship", "late", "billing", "ошибка", "支付", "x"]
    glue = [" ", "", "-", ",", ".", "/", "_", "\n", "  ", "'", "é"]
    for _ in range(200):
        texts.append("".join(rng.choice(words) + rng.choice(glue) for _ in range(rng.randrange(1, 30))))
    texts.append(" ".join(rng.choice(words) for _ in range(20000)))  # ~120k characters
    texts.append("a" * 100_000)
    texts.append(" " * 50_000 + "refund" + "\n" * 50_000)
    return texts


def read_verify_texts(path: Path) -> list[str]:
    """--verify-texts FILE: UTF-8, one text per line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise MlayerError(f"--verify-texts {path}: cannot read it ({exc.strerror}): give a UTF-8 file with one text per line") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MlayerError(f"--verify-texts {path}: byte {exc.start} is not UTF-8: save the file as UTF-8, one text per line") from None
    return text.splitlines()


def verification_texts(samples: Sequence[str] | None, extra: Sequence[str] | None) -> list[str]:
    return [*(samples or []), *(extra or []), *stress_texts()]


