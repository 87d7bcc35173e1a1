"""`make audit`: known vulnerabilities in the packages installed in the project venv.

Run by the python of the audit venv (.venv-audit: pip-audit and its dependencies, from
.ci/tools.txt), so that what is audited is the project's installed set, not the tool's:

    .venv-audit/bin/python .ci/audit.py --python .venv/bin/python --exceptions .ci/audit-exceptions.txt

pip-audit reads the project venv's site-packages (``--path``) and asks PyPI's advisory records
(the PyPA advisory database) about each release. Where the registry answers a release's own
record with 404 (this workplace's registry serves only a project's record, whose
``vulnerabilities`` are those of its newest release), the project's record is used for a package
whose installed version is that newest release; any other package is listed as not audited.
Accepted exceptions (README, Dependencies) are matched by an ID or any of its aliases, as
pip-audit's ``--ignore-vuln`` does. Exit status: 0 nothing unaccepted, 1 a known vulnerability or
a malformed exceptions file, 2 the audit itself failed.

The parsing and the judgement are plain functions (``parse_exceptions``, ``assess``) that the
tests import from this file; only ``main`` runs programs or uses the network.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# One exception a line: ID, package, date accepted, owner, reason (the rest of the line).
EXCEPTION_LINE = re.compile(
    r"^(?P<id>\S+)\s+(?P<package>\S+)\s+(?P<date>\S+)\s+(?P<owner>\S+)\s*(?P<reason>.*)$"
)
VULN_ID = re.compile(r"^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$")  # PYSEC-…, GHSA-…, CVE-…
PACKAGE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
MIN_REASON_WORDS = 3
NOT_FOUND = "Dependency not found on PyPI"  # pip-audit's skip reason for a 404
PROJECT_RECORD = "https://pypi.org/pypi/{name}/json"


@dataclass(frozen=True)
class Accepted:
    """One line of the exceptions file."""

    vuln_id: str
    package: str
    date: datetime.date
    owner: str
    reason: str
    line: int


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vuln_id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    description: str

    @property
    def ids(self) -> set[str]:
        return {self.vuln_id, *self.aliases}

    def line(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        fixed = f"fixed in {', '.join(self.fix_versions)}" if self.fix_versions else "no fix yet"
        text = self.description if len(self.description) <= 160 else self.description[:157] + "…"
        return f"{self.package} {self.version}: {self.vuln_id}{aliases}, {fixed}: {text}"


@dataclass
class Outcome:
    audited: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)  # "name version: why"
    findings: list[Finding] = field(default_factory=list)  # not accepted: these fail the audit
    accepted: list[tuple[Finding, Accepted]] = field(default_factory=list)

    def failed(self, strict: bool = False) -> bool:
        """Unaccepted findings fail; with ``strict``, so does a package not audited."""
        return bool(self.findings or (strict and self.unaudited))


def parse_exceptions(text: str) -> list[Accepted]:
    """The exceptions file's entries; ValueError naming every malformed line.

    Blank lines and ``#`` comments are ignored; each other line is
    ``ID  package  YYYY-MM-DD  owner  reason…`` with a reason of at least three words.
    """
    entries, errors, seen = [], [], set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = EXCEPTION_LINE.match(line)
        if not match:
            errors.append(f"line {number}: expected 'ID package YYYY-MM-DD owner reason…'")
            continue
        vuln_id, package, date, owner, reason = match.group(
            "id", "package", "date", "owner", "reason")
        problems = []
        if not VULN_ID.match(vuln_id):
            problems.append(f"{vuln_id!r} is not a vulnerability ID (PYSEC-…, GHSA-…, CVE-…)")
        if not PACKAGE.match(package):
            problems.append(f"{package!r} is not a package name")
        try:
            accepted_on = datetime.date.fromisoformat(date)
        except ValueError:
            problems.append(f"{date!r} is not a date (YYYY-MM-DD)")
            accepted_on = None
        if len(reason.split()) < MIN_REASON_WORDS:
            problems.append(f"the reason must say why (at least {MIN_REASON_WORDS} words)")
        if vuln_id in seen:
            problems.append(f"{vuln_id} is listed twice")
        seen.add(vuln_id)
        if problems:
            errors.append(f"line {number}: " + "; ".join(problems))
            continue
        entries.append(Accepted(vuln_id, canonicalize_name(package), accepted_on, owner,
                                reason.strip(), number))
    if errors:
        raise ValueError("\n".join(errors))
    return entries


def _release_vulns(name: str, version: str, vulns: Iterable[dict]) -> list[Finding]:
    """Findings from pip-audit's JSON ``vulns`` of one dependency."""
    return [Finding(name, version, v["id"], tuple(v.get("aliases", ())),
                    tuple(v.get("fix_versions", ())), v.get("description") or "")
            for v in vulns]


def _record_vulns(name: str, version: str, record: dict) -> list[Finding]:
    """Findings from a PyPI project record's ``vulnerabilities`` (its newest release's)."""
    out = []
    for v in record.get("vulnerabilities") or ():
        if v.get("withdrawn"):
            continue
        text = (v.get("summary") or v.get("details") or "N/A").replace("\n", " ")
        out.append(Finding(name, version, v["id"], tuple(v.get("aliases") or ()),
                           tuple(v.get("fixed_in") or ()), text))
    return out


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per advisory: records that alias each other (PYSEC-… and GHSA-… for the
    same flaw) become one, under the first one's ID."""
    out: list[Finding] = []
    for f in findings:
        i = next((i for i, g in enumerate(out) if g.package == f.package and g.ids & f.ids), None)
        if i is None:
            out.append(f)
            continue
        g = out[i]
        fixes = sorted(set(g.fix_versions) | set(f.fix_versions), key=_version_key)
        out[i] = Finding(g.package, g.version, g.vuln_id,
                         tuple(sorted((g.ids | f.ids) - {g.vuln_id})), tuple(fixes),
                         g.description or f.description)
    return out


def _version_key(v: str) -> tuple:
    try:
        return (0, Version(v))
    except InvalidVersion:
        return (1, v)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def assess(report: dict, installed: dict[str, str], exceptions: list[Accepted],
           fetch: Callable[[str], dict | None]) -> Outcome:
    """Judge pip-audit's JSON ``report`` on the ``installed`` packages (name → version,
    editable ones left out) with the accepted ``exceptions``.

    ``fetch(name)`` returns the PyPI project record of a package (None: no such project); it
    is asked only about packages whose release record pip-audit could not find.
    """
    installed = {canonicalize_name(n): v for n, v in installed.items()}
    outcome = Outcome()
    found: list[Finding] = []
    fallback = []
    seen = set()
    for dep in report.get("dependencies", []):
        name = canonicalize_name(dep["name"])
        if name not in installed:
            continue  # the editable project itself
        seen.add(name)
        version = installed[name]
        if "skip_reason" not in dep:
            outcome.audited.append(f"{name} {version}")
            found += _release_vulns(name, dep.get("version", version), dep.get("vulns", ()))
        elif dep["skip_reason"].startswith(NOT_FOUND):
            fallback.append((name, version))
        else:
            outcome.unaudited.append(f"{name} {version}: {dep['skip_reason']}")
    for name in sorted(set(installed) - seen):
        outcome.unaudited.append(f"{name} {installed[name]}: not seen by pip-audit")
    with ThreadPoolExecutor(max_workers=8) as pool:
        records = list(pool.map(lambda nv: fetch(nv[0]), fallback))
    for (name, version), record in zip(fallback, records, strict=True):
        if record is None:
            outcome.unaudited.append(f"{name} {version}: not on PyPI")
            continue
        newest = record.get("info", {}).get("version", "")
        if not _same_version(newest, version):
            outcome.unaudited.append(
                f"{name} {version}: no advisory record for this release here (the registry "
                f"serves only the newest release's, {newest})")
            continue
        outcome.audited.append(f"{name} {version}")
        found += _record_vulns(name, version, record)
    by_id = {e.vuln_id: e for e in exceptions}
    for finding in _merge(found):
        match = next((by_id[i] for i in sorted(finding.ids) if i in by_id), None)
        if match is None:
            outcome.findings.append(finding)
        else:
            outcome.accepted.append((finding, match))
    return outcome


# --- running it ----------------------------------------------------------------------------


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def _installed(python: str) -> tuple[dict[str, str], list[str]]:
    """The project venv's packages (editable ones left out) and its site-packages paths."""
    listing = _run([python, "-m", "pip", "list", "--format=json", "--exclude-editable"])
    paths = _run([python, "-c", "import json, sysconfig; print(json.dumps(sorted("
                  "{sysconfig.get_path('purelib'), sysconfig.get_path('platlib')})))"])
    for proc in (listing, paths):
        if proc.returncode:
            sys.exit(f"audit: cannot read the project venv ({python}):\n{proc.stderr}")
    return ({d["name"]: d["version"] for d in json.loads(listing.stdout)},
            json.loads(paths.stdout))


def _pip_audit(paths: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "report.json")
        cmd = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off",
               "--aliases", "on", "--desc", "on", "--format", "json", "--output", str(out)]
        for path in paths:
            cmd += ["--path", path]
        proc = _run(cmd)
        # pip-audit exits 1 both for vulnerabilities (report written) and for its own errors.
        if not out.exists() or not out.read_text(encoding="utf-8").strip():
            sys.exit(f"audit: pip-audit failed (status {proc.returncode}):\n{proc.stderr}")
        return json.loads(out.read_text(encoding="utf-8"))


def _fetch(name: str) -> dict | None:
    import requests  # the audit venv's (pip-audit depends on it); not needed by the tests

    response = requests.get(PROJECT_RECORD.format(name=name), timeout=60)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="the python of the venv to audit")
    parser.add_argument("--exceptions", required=True, type=Path,
                        help="accepted exceptions, one 'ID package date owner reason' a line")
    parser.add_argument("--strict", action="store_true",
                        help="fail when a package could not be audited, too")
    args = parser.parse_args(argv)
    try:
        exceptions = parse_exceptions(args.exceptions.read_text(encoding="utf-8"))
    except ValueError as e:
        print(f"audit: {args.exceptions} is malformed:\n{e}", file=sys.stderr)
        return 1
    installed, paths = _installed(args.python)
    report = _pip_audit(paths)
    try:
        outcome = assess(report, installed, exceptions, _fetch)
    except (OSError, ValueError) as e:  # network or registry (requests' errors are OSErrors)
        print(f"audit: could not read PyPI's advisory records: {e!r}", file=sys.stderr)
        return 2

    print(f"audit: {len(installed)} packages installed in {Path(args.python).parent.parent}, "
          f"{len(outcome.audited)} audited against PyPI's advisory records")
    for line in outcome.unaudited:
        print(f"  not audited: {line}")
    for finding, entry in outcome.accepted:
        print(f"  accepted ({args.exceptions}:{entry.line}, {entry.owner} {entry.date}): "
              f"{finding.line()}")
    matched = {e.vuln_id for _, e in outcome.accepted}
    for entry in exceptions:
        if entry.vuln_id not in matched:
            print(f"  exception {entry.vuln_id} ({entry.package}, line {entry.line}) matched "
                  "nothing: remove it once the fix is in the lock")
    if not outcome.failed(args.strict):
        print("audit: no known vulnerabilities" +
              (f" ({len(outcome.accepted)} accepted)" if outcome.accepted else ""))
        return 0
    for finding in outcome.findings:
        print(f"  VULNERABLE {finding.line()}")
    if outcome.findings:
        count = len(outcome.findings)
        print(f"audit: {count} known {'vulnerability' if count == 1 else 'vulnerabilities'}. "
              "Upgrade the package in the lock (make lock LOCK_FLAGS='-P NAME', within "
              "pyproject.toml's range or widening it), or, when no fixed release can be used, "
              f"record an exception in {args.exceptions} (README, Dependencies).")
    else:
        print(f"audit: --strict, and {len(outcome.unaudited)} packages could not be audited")
    return 1


if __name__ == "__main__":
    sys.exit(main())
