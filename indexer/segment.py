"""jieba with the party-building dictionary, initialised once per process (never at import)."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import threading
import warnings
from collections.abc import Iterator
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


def _import_jieba():  # noqa: ANN202 - the module
    """Import jieba 0.42.1 quietly: it emits DeprecationWarnings (invalid escapes) and would pull in
    the deprecated pkg_resources just to open its own data file, for which it has a plain fallback."""
    if "jieba" not in sys.modules:
        missing = object()
        saved = sys.modules.get("pkg_resources", missing)
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import jieba
        finally:
            if saved is missing:
                del sys.modules["pkg_resources"]
            else:
                sys.modules["pkg_resources"] = saved
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


class Segmenter:
    """A private jieba Tokenizer that knows our dictionary; its cache lives in ``cache_dir``."""

    def __init__(self, dictionary_file: Path, cache_dir: Path) -> None:
        jieba = _import_jieba()
        self.terms = read_dictionary(dictionary_file)
        self.fingerprint = hashlib.sha256(
            "\n".join(f"{t} {f}" for t, f in self.terms).encode()).hexdigest()[:16]
        cache_dir.mkdir(parents=True, exist_ok=True)
        tokenizer = jieba.Tokenizer()
        tokenizer.tmp_dir = str(cache_dir)
        tokenizer.cache_file = "jieba.cache"
        tokenizer.initialize()
        for term, freq in self.terms:
            tokenizer.add_word(term, freq)
        self._tokenizer = tokenizer
        self._freq = tokenizer.FREQ
        log.info("jieba ready with %d dictionary terms", len(self.terms))

    def tokenize(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(word, start, end) in jieba's precise mode; ``text`` must already be folded."""
        return self._tokenizer.tokenize(text, mode="default", HMM=True)

    def is_word(self, word: str) -> bool:
        return self._freq.get(word, 0) > 0


def get_segmenter(dictionary_file: str | Path, cache_dir: str | Path) -> Segmenter:
    """The process-wide segmenter for a dictionary, created on first use.

    jieba's own cache goes to ``cache_dir`` of whoever asks first; later callers share the loaded
    segmenter whatever their cache directory.
    """
    key = str(Path(dictionary_file).resolve())
    seg = _instances.get(key)
    if seg is None:
        with _lock:
            seg = _instances.get(key)
            if seg is None:
                seg = _instances[key] = Segmenter(Path(key), Path(cache_dir))
    return seg
