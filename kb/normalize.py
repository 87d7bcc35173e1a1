"""Length-preserving text folding: Traditional→Simplified, full-width→half-width, lower case.

Every function here returns a string of exactly the same length as its input, so a character
offset found in folded text is the same offset in the original. The highlighter relies on it.
"""

from __future__ import annotations

import threading
from functools import lru_cache

_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)}
_WIDTH[0x3000] = 0x20  # ideographic space
_lock = threading.Lock()
_converter = None


def _t2s():
    """The OpenCC Traditional→Simplified converter, created on first use."""
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


@lru_cache(maxsize=8192)
def _t2s_char(ch: str) -> str:
    out = _t2s().convert(ch)
    return out if len(out) == 1 else ch


def to_simplified(text: str) -> str:
    """Convert Traditional characters to Simplified, keeping the length unchanged."""
    if not text or text.isascii():
        return text
    out = _t2s().convert(text)
    if len(out) == len(text):
        return out
    return "".join(_t2s_char(ch) for ch in text)


def fold_width(text: str) -> str:
    """Map full-width ASCII forms and the ideographic space to their half-width forms."""
    return text.translate(_WIDTH)


def lower(text: str) -> str:
    """Lower-case, but never change the length (a few letters lower to two characters)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def normalize(text: str) -> str:
    """The full folding used everywhere text is compared: width, case, Traditional→Simplified."""
    return to_simplified(lower(fold_width(text)))
