"""Reading bytes as text: UTF-8 (with or without BOM), GBK/GB18030 and others by detection."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from ..errors import ImportRejected

MAX_BYTES = 20 * 1024 * 1024
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936"}


def check_bytes(data: bytes, path: str) -> None:
    """Reject empty, oversized and binary files before anything else looks at them."""
    if not data.strip():
        raise ImportRejected("文件为空", path=path)
    if len(data) > MAX_BYTES:
        raise ImportRejected(f"文件过大（超过 {MAX_BYTES // 1024 // 1024} MB）", path=path)


def decode(data: bytes, path: str) -> tuple[str, str]:
    """Decode text bytes; returns (text, encoding). Binary or undecodable data is rejected."""
    check_bytes(data, path)
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ImportRejected(f"文件声明为 UTF-8 但含有无效字节（第 {exc.start} 字节）", path=path) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportRejected("UTF-16 文本无法解码", path=path) from exc
    if b"\x00" in data[:8192]:
        raise ImportRejected("这是二进制文件，不是文本", path=path)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    gb_text = _as_gb(data)
    if gb_text is not None:
        return gb_text, "gb18030"
    best = from_bytes(data[:65536]).best()
    if best is None:
        raise ImportRejected("无法识别文本编码（不是 UTF-8 或 GBK）", path=path)
    encoding = best.encoding.lower()
    if encoding in _GB_FAMILY or encoding.startswith("gb"):
        encoding = "gb18030"  # the superset: every GBK file is valid GB18030
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ImportRejected(f"按检测到的编码 {encoding} 解码失败", path=path) from exc
    if _looks_binary(text):
        raise ImportRejected("这是二进制文件，不是文本", path=path)
    return text, encoding


def _as_gb(data: bytes) -> str | None:
    """GB18030 text when the bytes decode and read as common Simplified Chinese.

    Statistical detectors misjudge short GBK files (a title and a sentence) as Korean; almost any
    byte string decodes as GB18030, so we accept it only when nearly every non-ASCII character
    is one of GB2312's common characters, which Big5 or other encodings decoded this way are not.
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return None
    common = sum(1 for ch in wide if _in_gb2312(ch))
    return text if common >= 0.95 * len(wide) else None


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls > len(sample) * 0.02
