"""The texts a lean model must predict exactly as scikit-learn does before it may ship.

Generated from a fixed seed (the same corpus on every build): the registered samples, the
user's own texts (--verify-texts), and a stress set aimed at where a re-implementation drifts:
unicode case and accent rules, scripts, marks, symbols and control characters, empty and whitespace-only texts, very
long texts, punctuation glued to words, random code points (lone surrogates included, which
scikit-learn's hashing refuses and so must the lean runtime). The model's own vocabulary is
added inside the build interpreter (mlayer.model._lean_export_script), where the model is loaded.
"""

from __future__ import annotations

import random
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

BLOCK_SAMPLE = 6  # characters per block
RANDOM_PER_LENGTH = 100  # texts of random code points per length (1, 3, 10, 50)
GLUED = 1200  # texts of words glued by punctuation, accents, newlines
# Code point ranges covering every kind of character a tokenizer or case mapping treats specially
# (letters of many scripts, marks, digits, spaces, format and control characters, symbols, private
# use). Fixed ranges rather than unicodedata categories, so the corpus is the same whatever Python
# runs mlayer (the target interpreter's unicodedata is the one that tokenizes).
BLOCKS = [
    (0x0000, 0x001F), (0x0020, 0x007E), (0x007F, 0x009F), (0x00A0, 0x00FF), (0x0100, 0x017F), (0x0180, 0x024F),
    (0x0250, 0x02FF), (0x0300, 0x036F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0530, 0x058F), (0x0590, 0x05FF),
    (0x0600, 0x06FF), (0x0900, 0x097F), (0x0980, 0x09FF), (0x0E00, 0x0E7F), (0x10A0, 0x10FF), (0x1100, 0x11FF),
    (0x1E00, 0x1EFF), (0x1F00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F),
    (0x2150, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F), (0x3000, 0x303F),
    (0x3040, 0x309F), (0x30A0, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF), (0xFB00, 0xFB4F),
    (0xFE00, 0xFE0F), (0xFF00, 0xFFEF), (0x10400, 0x1044F), (0x1D400, 0x1D7FF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
    (0x1F900, 0x1F9FF), (0x20000, 0x2A6DF),
]


def stress_texts(seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    texts = list(FIXED)
    for low, high in BLOCKS:
        picked = [chr(rng.randint(low, high)) for _ in range(BLOCK_SAMPLE)]
        texts.append("".join(picked))
        texts.append(" word".join(picked) + " end")
    for length in (1, 3, 10, 50):
        for _ in range(RANDOM_PER_LENGTH):
            texts.append("".join(chr(rng.randrange(0x20, 0x30000)) for _ in range(length)))
    texts.append(chr(0xD800) + "lone surrogate")
    words = ["order", "refund", "Ärger", "crédit", "ship", "late", "billing", "ошибка", "支付", "x"]
    glue = [" ", "", "-", ",", ".", "/", "_", "\n", "  ", "'", "é"]
    for _ in range(GLUED):
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


