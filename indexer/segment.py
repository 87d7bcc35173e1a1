"""Word segmentation with the party-building dictionary, initialised once per process (never at import)."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from pathlib import Path

from kb.errors import StartupError
from kb.normalize import normalize

log = logging.getLogger(__name__)

DEFAULT_FREQ = 20000
_TERM = re.compile(r"^[\u4E00-\u9FD5a-z0-9+#&._%\-]+$")
_lock = threading.Lock()
_instances: dict[str, Segmenter] = {}


def read_dictionary(path: Path) -> list[tuple[str, int]]:
    """Terms (folded like the text they will meet) and frequencies from a user dictionary file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise StartupError(f"无法读取词典 {path}：{exc}") from exc
    out = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise StartupError(f"词典 {path} 第 {number} 行应为“词”或“词 词频”，词中不能有空格：{line!r}")
        term = normalize(parts[0])
        freq = int(parts[1]) if len(parts) == 2 else DEFAULT_FREQ
        if not _TERM.match(term):
            raise StartupError(f"词典 {path} 第 {number} 行的词 {parts[0]!r} 含有不允许的字符")
        out.append((term, freq))
    return out


class Segmenter:
    """jieba's algorithm and dictionary (the Rust port, rjieba: token-for-token the same output as
    jieba 0.42.1, about ten times faster) plus our dictionary. No cache file: the built-in
    dictionary loads in a fraction of a second."""

    def __init__(self, dictionary_file: Path) -> None:
        import rjieba

        self.terms = read_dictionary(dictionary_file)
        self.engine = f"rjieba-{_version('rjieba')}"
        self.fingerprint = hashlib.sha256(
            (self.engine + "\n" + "\n".join(f"{t} {f}" for t, f in self.terms)).encode()).hexdigest()[:16]
        jieba = rjieba.Jieba()
        for term, freq in self.terms:
            jieba.add_word(term, freq, None)
        self._jieba = jieba
        log.info("segmenter ready (%s) with %d dictionary terms", self.engine, len(self.terms))

    def tokenize(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) in jieba's precise mode with HMM; ``text`` must already be folded."""
        return self._jieba.tokenize(text, "default", True)

    def is_word(self, word: str) -> bool:
        return self._jieba.has_word(word)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def get_segmenter(dictionary_file: str | Path) -> Segmenter:
    """The process-wide segmenter for a dictionary, created on first use."""
    key = str(Path(dictionary_file).resolve())
    seg = _instances.get(key)
    if seg is None:
        with _lock:
            seg = _instances.get(key)
            if seg is None:
                seg = _instances[key] = Segmenter(Path(key))
    return seg
