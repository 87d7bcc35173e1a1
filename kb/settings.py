"""Settings: declared once, with defaults, overridden by an instance file and ``KB_*`` variables.

Order (later wins): the defaults below → ``<data_dir>/hongxian.toml`` → environment variables
``KB_<NAME>`` (upper case) → explicit overrides (command-line options, a test mapping).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import StartupError

PACKAGE_ROOT = Path(__file__).resolve().parent
CHECKOUT = PACKAGE_ROOT.parent
INDEXER_DATA = CHECKOUT / "indexer" / "data"


def _default_data_dir() -> Path:
    # In a checkout (the normal case) the data lives in ./data, which git ignores.
    if (CHECKOUT / "pyproject.toml").exists():
        return CHECKOUT / "data"
    return Path.cwd() / "hongxian-data"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", None, "数据目录：知识库数据库和检索索引都在这里（默认：检出目录下的 data/）", Path),
    Setting("corpus_dir", str(CHECKOUT / "corpus" / "docs"), "示例语料目录；知识库为空时 `kb serve` 会先导入它（设为空字符串则不导入）", str),
    Setting("taxonomy_file", str(CHECKOUT / "corpus" / "taxonomy.yaml"), "“1+N”工作模式分类文件；知识库首次使用时载入", str),
    Setting("dictionary_file", str(INDEXER_DATA / "party_dict.txt"), "党建词典（jieba 用户词典），每行一个词", str),
    Setting("synonyms_file", str(INDEXER_DATA / "synonyms.txt"), "同义词与缩略语文件，每行 `词: 同义词, 同义词`", str),
    Setting("suggest_threshold", 0.5, "工作模式建议的最低得分（0–1）", float),
    Setting("page_size", 10, "每页显示的案例数", int),
    Setting("host", "127.0.0.1", "`kb serve` 监听的地址", str),
    Setting("port", 5000, "`kb serve` 监听的端口", int),
    Setting("threads", 8, "`kb serve` 的工作线程数", int),
    Setting("login_required", True, "阅读知识库（检索、案例、工作模式、接口）是否需要登录；已发布的串珍珠总是公开", bool),
    Setting("secret_key", "", "签名会话 Cookie 的密钥；为空时在数据目录生成并保存 secret_key 文件（权限 600）", str),
    Setting("cookie_secure", False, "会话 Cookie 只经 HTTPS 发送；部署在 HTTPS 之后时设为 true", bool),
    Setting("session_hours", 12, "登录会话的有效时长（小时）", int),
    Setting("public_url", "", "读者访问本站的地址（如 https://dangjian.example.org）：引用的网络版、订阅源和分享信息里的链接用它；为空时用请求的地址，本机回环地址（127.0.0.1、localhost）则不给出网络版引用", str),
    Setting("upload_mb", 32, "网页导入时一次上传的总大小上限（MB）", int),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass
class Settings:
    data_dir: Path
    corpus_dir: str
    taxonomy_file: str
    dictionary_file: str
    synonyms_file: str
    suggest_threshold: float
    page_size: int
    host: str
    port: int
    threads: int
    login_required: bool
    secret_key: str
    cookie_secure: bool
    session_hours: int
    public_url: str
    upload_mb: int
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kb.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}


def _coerce(setting: Setting, value: object, source: str) -> object:
    try:
        if setting.kind is Path:
            return Path(os.path.expanduser(str(value))).resolve()
        if setting.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if setting.kind in (int, float):
            return setting.kind(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise StartupError(f"设置 {setting.name} 的值无效（来自 {source}）：{value!r}") from exc


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    overrides: dict[str, object] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve every setting; ``data_dir`` and ``overrides`` come from the caller (CLI, tests)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {s.name: s.default for s in SETTINGS}
    sources = {s.name: "default" for s in SETTINGS}
    overrides = dict(overrides or {})
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    base = overrides.get("data_dir") or env.get("KB_DATA_DIR") or _default_data_dir()
    instance = Path(str(base)) / "hongxian.toml"
    if instance.is_file():
        try:
            file_values = tomllib.loads(instance.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise StartupError(f"配置文件 {instance} 无法解析：{exc}") from exc
        for key, value in file_values.items():
            if key not in _BY_NAME or key == "data_dir":
                raise StartupError(f"配置文件 {instance} 中有未知设置 {key!r}；可用：{', '.join(_BY_NAME)}")
            values[key], sources[key] = value, str(instance)
    for s in SETTINGS:
        key = "KB_" + s.name.upper()
        if key in env:
            values[s.name], sources[s.name] = env[key], key
    for key, value in overrides.items():
        if key not in _BY_NAME:
            raise StartupError(f"未知设置 {key!r}；可用：{', '.join(_BY_NAME)}")
        values[key], sources[key] = value, "override"
    if values["data_dir"] is None:
        values["data_dir"] = base
    resolved = {s.name: _coerce(s, values[s.name], sources[s.name]) for s in SETTINGS}
    resolved["public_url"] = public_url(str(resolved["public_url"]), sources["public_url"])
    return Settings(**resolved, sources=sources)


def public_url(value: str, source: str) -> str:
    """``public_url`` checked: empty, or an http(s) address with a host and no query or fragment;
    kept without a trailing slash."""
    from urllib.parse import urlsplit

    text = value.strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise StartupError(f"设置 public_url 的值无效（来自 {source}）：{value!r}；"
                           "应为 http:// 或 https:// 开头、不带查询参数的网址，如 https://dangjian.example.org")
    return text.rstrip("/")


def override(settings: Settings, overrides: dict[str, object]) -> Settings:
    """These settings with ``overrides`` applied, converted exactly as every other source is
    (``{"login_required": "false"}`` gives ``False``). The data directory cannot change here:
    its instance file would not be read; resolve settings for another folder with
    :func:`load_settings`."""
    changes: dict[str, object] = {}
    for key, value in overrides.items():
        if key not in _BY_NAME:
            raise StartupError(f"未知设置 {key!r}；可用：{', '.join(_BY_NAME)}")
        if key == "data_dir":
            raise StartupError("data_dir 不能在已解析的设置上覆盖：请为另一个数据目录重新载入设置")
        changes[key] = _coerce(_BY_NAME[key], value, "override")
        if key == "public_url":
            changes[key] = public_url(str(changes[key]), "override")
    if not changes:
        return settings
    return replace(settings, **changes, sources={**settings.sources, **dict.fromkeys(changes, "override")})
