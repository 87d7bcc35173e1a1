"""References on the site and the command line: the online form names ``public_url`` (never a
loopback address), RIS and BibTeX files of a case and of a pearl string (parsed back here), who
may fetch them, and ``kb cite``."""

from __future__ import annotations

import datetime
import re

import pytest
from builder import build
from stock import CLUBHOUSE, DOCS, HUB, SALON

from hongxian import Hongxian
from hongxian.cli import main
from kb.errors import StartupError
from kb.settings import load_settings, override
from web import create_app

PUBLIC = "https://dangjian.example.org"
TODAY = datetime.date.today().isoformat()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("cite-site"), DOCS)


def site(built, **settings: object):
    core = Hongxian(override(built.settings, {"login_required": False, **settings}), background=False)
    return create_app({"TESTING": True}, core=core).test_client()


def parse_ris(text: str) -> list[dict[str, list[str]]]:
    """RIS records as {tag: [values]}; checks the line format on the way (``TG  - value``, CRLF)."""
    assert "\n" not in text.replace("\r\n", ""), "RIS lines end with CRLF"
    records, current = [], None
    for line in text.split("\r\n"):
        if not line:
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9])  - ?(.*)", line)
        assert match, f"not a RIS line: {line!r}"
        tag, value = match.groups()
        if tag == "TY":
            assert current is None, "TY inside a record"
            current = {}
        assert current is not None, f"{tag} outside a record"
        if tag == "ER":
            records.append(current)
            current = None
        else:
            current.setdefault(tag, []).append(value)
    assert current is None, "a record without ER"
    return records


def parse_bibtex(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """BibTeX entries as (type, key, fields): one field per line, values in balanced braces."""
    entries = []
    for match in re.finditer(r"@(\w+)\{([^,\s]+),\n(.*?)\n\}\n", text, re.S):
        fields = {}
        for line in match.group(3).split(",\n"):
            name, value = re.fullmatch(r"  (\w+) = \{(.*)\}", line, re.S).groups()
            depth = 0
            for at, ch in enumerate(value):  # braces balance, escaped ones aside
                if ch in "{}" and (at == 0 or value[at - 1] != "\\"):
                    depth += 1 if ch == "{" else -1
                    assert depth >= 0, value
            assert depth == 0, value
            fields[name] = value
        entries.append((match.group(1), match.group(2), fields))
    assert len(entries) == text.count("@"), text
    return entries


def test_the_case_page_gives_the_public_address_in_the_online_reference(built):
    html = site(built, public_url=PUBLIC + "/").get(f"/doc/{CLUBHOUSE.id}").get_data(as_text=True)
    assert f"[R/OL]. 海州: 中共海州市云杉街道工作委员会, 2019[{TODAY}]. {PUBLIC}/doc/{CLUBHOUSE.id}." in html
    assert "127.0.0.1" not in html and "localhost" not in html


def test_without_public_url_a_loopback_address_gives_no_online_reference(built):
    client = site(built)
    html = client.get(f"/doc/{CLUBHOUSE.id}", base_url="http://127.0.0.1:5000").get_data(as_text=True)
    assert "[R/OL]" not in html and 'id="cite-online"' not in html
    assert "[R]. 海州: 中共海州市云杉街道工作委员会, 2019." in html  # the print form stays
    # At a network address the site names itself (it is what readers typed).
    html = client.get(f"/doc/{CLUBHOUSE.id}", base_url="http://192.168.1.20:5000").get_data(as_text=True)
    assert f"[{TODAY}]. http://192.168.1.20:5000/doc/{CLUBHOUSE.id}." in html


def test_public_url_is_used_for_the_feed_and_open_graph(built):
    client = site(built, public_url=PUBLIC)
    html = client.get(f"/doc/{CLUBHOUSE.id}").get_data(as_text=True)
    assert f'content="{PUBLIC}/doc/{CLUBHOUSE.id}"' in html
    assert "http://localhost" not in client.get("/feed.atom").get_data(as_text=True)


@pytest.mark.parametrize("value", ["ftp://x.example.org", "dangjian.example.org", "https://x.example.org/?a=1",
                                   "https://", "https://x.example.org/#top"])
def test_a_bad_public_url_is_refused_with_a_message(tmp_path, value):
    with pytest.raises(StartupError, match="public_url"):
        load_settings(data_dir=tmp_path, overrides={"public_url": value})


def test_a_case_as_ris_and_bibtex(built):
    client = site(built, public_url=PUBLIC)
    response = client.get(f"/doc/{CLUBHOUSE.id}/cite.ris")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="cite-{CLUBHOUSE.id}.ris"'
    [record] = parse_ris(response.get_data(as_text=True))
    assert record["TY"] == ["RPRT"] and record["AU"] == ["陆晓禾"]
    assert record["TI"] == [CLUBHOUSE.title] and record["PY"] == ["2019"]
    assert record["PB"] == ["中共海州市云杉街道工作委员会"] and record["CY"] == ["海州"]
    assert record["UR"] == [f"{PUBLIC}/doc/{CLUBHOUSE.id}"]
    response = client.get(f"/doc/{CLUBHOUSE.id}/cite.bib")
    assert response.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    [(kind, key, fields)] = parse_bibtex(response.get_data(as_text=True))
    assert (kind, key) == ("techreport", f"{CLUBHOUSE.id}-2019")
    assert fields["author"] == "陆晓禾" and fields["institution"] == "中共海州市云杉街道工作委员会"
    assert fields["title"] == CLUBHOUSE.title and fields["url"] == f"{PUBLIC}/doc/{CLUBHOUSE.id}"
    text = client.get(f"/doc/{CLUBHOUSE.id}/cite.txt").get_data(as_text=True)
    assert text.startswith("陆晓禾. 楼宇会所里的") and text.endswith(f"{PUBLIC}/doc/{CLUBHOUSE.id}.\n")
    assert client.get(f"/doc/{CLUBHOUSE.id}/cite.pdf").status_code == 404
    assert client.get("/doc/t-none/cite.ris").status_code == 404


def test_bibtex_escapes_braces_and_ris_keeps_one_line_per_value():
    from kb.citation import describe
    from kb.citation_formats import bibtex, ris

    doc = {"doc_id": "t-odd", "title": "标题{带}括号\n和换行", "author": "甲乙", "unit": "某单位", "date": "2020"}
    [(_, _, fields)] = parse_bibtex(bibtex(describe(doc), "t-odd"))
    assert fields["title"] == "标题\\{带\\}括号 和换行"
    [record] = parse_ris(ris(describe(doc)))
    assert record["TI"] == ["标题{带}括号 和换行"]


def seed(core: Hongxian) -> tuple[int, int]:
    with core.kb as kb:
        kb.accounts.add("curator", "curator-pass-123", "editor")
        published = kb.pearls.create("curator", "会所与学会", "以文化凝聚人心")
        for doc in (SALON, CLUBHOUSE, HUB):
            kb.pearls.add_pearl(published, doc.id, -1, "")
        practice = next(s.ord for s in kb.documents.get(CLUBHOUSE.id).sections if s.is_practice)
        kb.pearls.add_pearl(published, CLUBHOUSE.id, practice, "")  # CLUBHOUSE twice: listed once
        kb.pearls.publish(published)
        draft = kb.pearls.create("curator", "草稿串", "")
        kb.pearls.add_pearl(draft, HUB.id, -1, "")
    return published, draft


def test_a_pearl_strings_references_for_reference_managers(tmp_path):
    core = build(tmp_path, DOCS).core
    published, draft = seed(core)
    app = create_app({"TESTING": True}, core=core)  # login required: the string is still public
    client = app.test_client()
    records = parse_ris(client.get(f"/pearls/{published}/references.ris").get_data(as_text=True))
    # By the pinyin of the responsibility: lu xiao he < zhong gong … < zhong lan.
    assert SALON.author is None and SALON.unit == "中共海州市青槐街道工作委员会"
    assert [r["AU"][0] for r in records] == ["陆晓禾", "中共海州市青槐街道工作委员会", "钟岚"]
    entries = parse_bibtex(client.get(f"/pearls/{published}/references.bib").get_data(as_text=True))
    assert {key for _, key, _ in entries} == {f"{d.id}-{d.date[:4]}" for d in (SALON, CLUBHOUSE, HUB)}
    text = client.get(f"/pearls/{published}/references.txt").get_data(as_text=True)
    assert text.splitlines()[0].startswith("[1] 陆晓禾. ") and len(text.splitlines()) == 3
    assert client.get(f"/pearls/{draft}/references.ris").status_code == 404  # a draft: its curator only
    assert client.get(f"/doc/{CLUBHOUSE.id}/cite.ris").status_code in (302, 401)  # cases need a login


@pytest.mark.parametrize(("args", "expected"), [
    ([], "陆晓禾. 楼宇会所里的“会所文化”——云杉街道以文化凝聚白领的做法[R]. 海州: 中共海州市云杉街道工作委员会, 2019.\n"),
    (["--format", "ris"], "TY  - RPRT\r\nAU  - 陆晓禾\r\n"),
    (["--format", "bibtex"], f"@techreport{{{CLUBHOUSE.id}-2019,\n"),
])
def test_kb_cite(built, runner, args, expected):
    result = runner.invoke(main, ["--data-dir", str(built.settings.data_dir), "cite", CLUBHOUSE.id, *args])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode("utf-8").startswith(expected)


def test_kb_cite_online_needs_public_url_and_a_known_id(built, runner, monkeypatch):
    data = str(built.settings.data_dir)
    result = runner.invoke(main, ["--data-dir", data, "cite", CLUBHOUSE.id, "--online"])
    assert result.exit_code == 1 and "public_url" in result.output
    monkeypatch.setenv("KB_PUBLIC_URL", PUBLIC)
    result = runner.invoke(main, ["--data-dir", data, "cite", CLUBHOUSE.id, "--online"])
    assert result.exit_code == 0 and result.output.endswith(f"{PUBLIC}/doc/{CLUBHOUSE.id}.\n")
    result = runner.invoke(main, ["--data-dir", data, "cite", "t-none"])
    assert result.exit_code == 1 and "没有编号为 t-none 的文档" in result.output
    result = runner.invoke(main, ["--data-dir", data, "cite", CLUBHOUSE.id, "--format", "pdf"])
    assert result.exit_code == 2


def test_type_fields_offer_the_types_the_citation_rules_know(tmp_path):
    from site_client import PASSWORD, login

    from kb.citation import DOCUMENT_TYPES

    core = build(tmp_path, DOCS).core
    with core.kb as kb:
        kb.accounts.add("admin", PASSWORD, "admin")
    client = login(create_app({"TESTING": True}, core=core), "admin")
    for url in (f"/doc/{HUB.id}/edit", "/import"):
        html = client.get(url).get_data(as_text=True)
        assert 'list="doc-types"' in html, url
        options = re.findall(r'<option value="([^"]+)">', html.split('<datalist id="doc-types">')[1].split("</datalist>")[0])
        assert options == list(DOCUMENT_TYPES) and {"报纸文章", "网页", "汇编", "内部资料"} <= set(options)
