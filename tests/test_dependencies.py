"""Dependency hygiene: the lock pins everything the project installs, within pyproject.toml's
ranges, with hashes; `make install` installs exactly the lock; the audit's exceptions parse and
its judgement fails on a known vulnerability (README, Development, Dependencies). No network."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
EXTRAS = ("test", "bench")  # what `make install` installs: -e '.[test,bench]'


def read_lock(path: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """A pip-compile output (``name==version \\`` + ``--hash=sha256:…`` lines, ``#`` comments):
    canonical name → (requirement, hashes)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = {}
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split()
        assert not spec.startswith("-"), f"{path.name}: an option line: {line}"
        req = Requirement(spec)
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        assert len(hashes) == len(options), f"{path.name}: {spec}: options other than --hash"
        name = canonicalize_name(req.name)
        assert name not in out, f"{path.name}: {name} pinned twice"
        out[name] = (req, hashes)
    return out


LOCK = read_lock(ROOT / "constraints.txt")
TOOLS = read_lock(ROOT / ".ci" / "tools.txt")


def pinned(lock: dict, name: str) -> Version:
    req, _ = lock[canonicalize_name(name)]
    (spec,) = req.specifier
    return Version(spec.version)


def applies(req: Requirement, extra: str = "") -> bool:
    return req.marker is None or req.marker.evaluate({**default_environment(), "extra": extra})


def requirements_in(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def project_requirements() -> list[Requirement]:
    optional = PYPROJECT["project"]["optional-dependencies"]
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"]
            + [r for extra in EXTRAS for r in optional[extra]]]


@pytest.mark.parametrize("req", project_requirements() + [
    Requirement(r) for r in PYPROJECT["build-system"]["requires"]
] + requirements_in(ROOT / ".ci" / "installer.in"), ids=str)
def test_every_requirement_is_pinned_within_its_range(req):
    if not applies(req):
        pytest.skip(f"{req} does not apply on this platform")
    assert canonicalize_name(req.name) in LOCK, f"{req.name} is not in constraints.txt"
    version = pinned(LOCK, req.name)
    assert req.specifier.contains(version, prereleases=True), \
        f"constraints.txt pins {req.name}=={version}, outside pyproject's {req.specifier}"


@pytest.mark.parametrize("req", requirements_in(ROOT / ".ci" / "tools.in"), ids=str)
def test_the_tools_are_pinned_within_their_ranges(req):
    version = pinned(TOOLS, req.name)
    assert req.specifier.contains(version, prereleases=True)


@pytest.mark.parametrize("lock", [LOCK, TOOLS], ids=["constraints.txt", "tools.txt"])
def test_every_pin_is_exact_and_hashed(lock):
    # pip's hash-checking is all or nothing: one entry without a hash breaks the install.
    for name, (req, hashes) in lock.items():
        (spec,) = req.specifier
        assert spec.operator == "==" and "*" not in spec.version, f"{name}: {req.specifier}"
        assert not req.extras and req.url is None and req.marker is None, name
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def _closure(roots: list[tuple[str, frozenset[str]]]) -> dict[str, str]:
    """The installed distributions the roots need, transitively: name → installed version."""
    found: dict[str, str] = {}
    todo, done = list(roots), set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        dist = metadata.distribution(name)
        found[canonicalize_name(name)] = dist.version
        for raw in dist.requires or ():
            req = Requirement(raw)
            if any(applies(req, extra) for extra in {"", *extras}):
                todo.append((req.name, frozenset(req.extras)))
    return found


def test_the_venv_is_the_lock():
    """What the tests run with is what the lock says: every package the project needs with its
    extras (transitively), and the installer and build backend, at the locked version, and
    nothing locked that nothing needs."""
    needed = _closure([("hongxian", frozenset(EXTRAS))])
    del needed["hongxian"]  # the project itself, editable
    needed |= _closure([(r.name, frozenset(r.extras))
                        for r in requirements_in(ROOT / ".ci" / "installer.in")])
    locked = {name: str(pinned(LOCK, name)) for name in LOCK}
    assert {n: v for n, v in needed.items() if locked.get(n) != v} == {}, \
        "installed versions that differ from constraints.txt (run make install, or make lock)"
    assert set(locked) - set(needed) == set(), "constraints.txt pins packages nothing needs"


def _rule(target: str) -> tuple[str, list[str]]:
    """A Makefile rule's prerequisites and recipe lines (continuations joined)."""
    match = re.search(rf"^{re.escape(target)}:(.*)\n((?:\t.*\n)*)", MAKEFILE, re.M)
    assert match, f"no rule for {target}"
    recipe = re.sub(r"\\\n\t?\s*", " ", match.group(2))
    return match.group(1), [line.strip() for line in recipe.splitlines()]


def test_make_install_installs_exactly_the_lock():
    assert re.search(r"^LOCK\s*:=\s*constraints\.txt$", MAKEFILE, re.M)
    # The stamp's name carries the lock's checksum, and the rule depends on it: a changed lock
    # reinstalls.
    stamp = re.search(r"^STAMP\s*:=(.*)$", MAKEFILE, re.M).group(1)
    assert "$(LOCK)" in stamp and "pyproject.toml" in stamp
    prerequisites, recipe = _rule("$(STAMP)")
    assert {"pyproject.toml", "$(LOCK)"} <= set(prerequisites.split())
    installs = [line for line in recipe if "pip install" in line]
    assert any("--no-deps" in line and "-r $(LOCK)" in line for line in installs)
    for line in installs:
        # Each install either takes its versions (and hashes) from the lock or brings nothing
        # of its own (--no-deps -e .: the project itself; the exact pip of the lock).
        assert ("$(LOCK)" in line or ("--no-deps" in line and line.endswith("-e ."))
                or "$(call pip_pin,$(LOCK))" in line), line
        if "-e ." in line:
            assert "--no-build-isolation" in line, "the build backend must be the locked one"
    assert any(line.endswith("pip check") for line in recipe)


def test_ci_audits_before_the_readme_test_command():
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip().startswith("make ")]
    assert "make audit" in commands
    assert commands.index("make audit") < commands.index("make test") == len(commands) - 1
    _, recipe = _rule("audit")
    assert any(".ci/audit-exceptions.txt" in line for line in recipe)


# --- the audit's own logic (.ci/audit.py) ----------------------------------------------------


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_audit"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules["ci_audit"]


def test_the_exceptions_file_parses_and_each_has_a_reason(audit):
    entries = audit.parse_exceptions(
        (ROOT / ".ci" / "audit-exceptions.txt").read_text(encoding="utf-8"))
    for entry in entries:
        assert len(entry.reason.split()) >= 3 and entry.owner and entry.date


@pytest.mark.parametrize("line, problem", [
    ("GHSA-aaaa-bbbb-cccc flask 2026-12-01 ana", "reason"),
    ("GHSA-aaaa-bbbb-cccc flask 2026-12-01 ana not reachable", "reason"),
    ("GHSA-aaaa-bbbb-cccc flask 1/12/2026 ana the form is never posted", "date"),
    ("flask GHSA-aaaa-bbbb-cccc 2026-12-01 ana the form is never posted", "vulnerability ID"),
    ("GHSA-aaaa-bbbb-cccc", "expected"),
])
def test_a_malformed_exception_is_refused_with_its_line(audit, line, problem):
    with pytest.raises(ValueError, match=rf"line 3: .*{problem}"):
        audit.parse_exceptions(f"# comment\n\n{line}\n")


def test_an_exception_listed_twice_is_refused(audit):
    line = "CVE-2024-0001 flask 2026-12-01 ana the form is never posted here"
    with pytest.raises(ValueError, match="line 2: .*twice"):
        audit.parse_exceptions(f"{line}\n{line}\n")


def _vuln(vid, *aliases, fixed=("2.0",), withdrawn=None):
    return {"id": vid, "aliases": list(aliases), "fixed_in": list(fixed), "summary": "a flaw",
            "withdrawn": withdrawn}


INSTALLED = {"flask": "3.1.3", "Jinja2": "3.1.6", "numpy": "2.4.6", "tqdm": "4.70.1"}
REPORT = {"dependencies": [
    {"name": "hongxian", "skip_reason": "distribution marked as editable"},
    # pip-audit found flask's release record: one vulnerability, under two IDs
    {"name": "flask", "version": "3.1.3", "vulns": [
        {"id": "PYSEC-2026-1", "fix_versions": ["3.1.4"], "aliases": ["CVE-2026-1"],
         "description": "a flaw"},
        {"id": "GHSA-xxxx-yyyy-zzzz", "fix_versions": ["3.1.4"], "aliases": ["CVE-2026-1"],
         "description": "a flaw"}]},
    # the others' release records were not found (what this workplace's registry answers)
    *({"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n}"}
      for n in ("jinja2", "numpy", "tqdm")),
]}
RECORDS = {
    "jinja2": {"info": {"version": "3.1.6"}, "vulnerabilities": [
        _vuln("GHSA-aaaa-bbbb-cccc", "CVE-2026-2"),
        _vuln("PYSEC-2026-3", withdrawn="2026-11-01T00:00:00Z")]},
    "numpy": {"info": {"version": "2.5.5"}, "vulnerabilities": []},  # newer than the pin
    "tqdm": {"info": {"version": "4.70.1"}, "vulnerabilities": []},
}


def test_the_audit_fails_on_a_known_vulnerability(audit):
    outcome = audit.assess(REPORT, INSTALLED, [], RECORDS.get)
    assert outcome.failed()
    found = {(f.package, f.vuln_id, tuple(sorted(f.ids))) for f in outcome.findings}
    assert found == {
        ("flask", "PYSEC-2026-1", ("CVE-2026-1", "GHSA-xxxx-yyyy-zzzz", "PYSEC-2026-1")),
        ("jinja2", "GHSA-aaaa-bbbb-cccc", ("CVE-2026-2", "GHSA-aaaa-bbbb-cccc")),
    }  # the withdrawn advisory is not one; aliases of one flaw are one finding
    assert sorted(outcome.audited) == ["flask 3.1.3", "jinja2 3.1.6", "tqdm 4.70.1"]
    assert [u.split(":")[0] for u in outcome.unaudited] == ["numpy 2.4.6"]


def test_accepted_exceptions_match_an_id_or_an_alias(audit):
    exceptions = audit.parse_exceptions(
        "CVE-2026-1 flask 2026-12-01 ana the debugger is never enabled here\n"
        "GHSA-aaaa-bbbb-cccc jinja2 2026-12-01 ana templates are ours, not users'\n")
    outcome = audit.assess(REPORT, INSTALLED, exceptions, RECORDS.get)
    assert not outcome.failed() and outcome.findings == []
    assert sorted((f.package, e.line) for f, e in outcome.accepted) == [("flask", 1),
                                                                          ("jinja2", 2)]
    # a package that could not be audited fails only a strict audit
    assert outcome.failed(strict=True)
