"""Settings in layers: defaults → instance file → KB_* environment → explicit overrides."""

from __future__ import annotations

import pytest

from kb.errors import StartupError
from kb.settings import CHECKOUT, load_settings


def test_defaults_live_in_the_checkout(tmp_path):
    s = load_settings(environ={})
    assert s.data_dir == (CHECKOUT / "data").resolve()
    assert s.sources["data_dir"] == "default"
    assert s.db_path == s.data_dir / "kb.sqlite3" and s.index_dir == s.data_dir / "index"


def test_layers(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "hongxian.toml").write_text('page_size = 20\nport = 6000\nsuggest_threshold = 0.7\n',
                                        encoding="utf-8")
    env = {"KB_DATA_DIR": str(data), "KB_PORT": "7000"}
    s = load_settings(environ=env, overrides={"suggest_threshold": 0.4})
    assert s.data_dir == data.resolve()
    assert (s.page_size, s.sources["page_size"]) == (20, str(data / "hongxian.toml"))
    assert (s.port, s.sources["port"]) == (7000, "KB_PORT")
    assert (s.suggest_threshold, s.sources["suggest_threshold"]) == (0.4, "override")


@pytest.mark.parametrize(("toml", "message"), [
    ("nonsense = 1\n", "未知设置"),
    ("port = [\n", "无法解析"),
    ("port = 'abc'\n", "无效"),
])
def test_bad_instance_file(tmp_path, toml, message):
    (tmp_path / "hongxian.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(StartupError, match=message):
        load_settings(data_dir=tmp_path, environ={})


def test_unknown_override_is_refused(tmp_path):
    with pytest.raises(StartupError, match="未知设置"):
        load_settings(data_dir=tmp_path, overrides={"colour": "red"}, environ={})
