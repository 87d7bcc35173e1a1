"""Use cases of tagging by working mode: decide a suggestion, review, and edit the taxonomy.

A decision or a taxonomy change is saved at once; what follows from it (re-suggesting every
document, the index) is a background job, so the request returns at once.
"""

from __future__ import annotations

from pathlib import Path

from kb.errors import NotFound
from kb.jobs import Job, JobKind
from kb.model import WHOLE_DOCUMENT, Decision, TagStatus
from kb.taxonomy import Taxonomy, parse_signal_text

from .cases import Cases


class TaggingCases(Cases):

    def decide(self, doc_id: str, mode: str, status: TagStatus, actor: str,
               section_ord: int = WHOLE_DOCUMENT) -> Job:
        """Record a person's decision (confirmed or rejected) on a mode of a document or of one
        of its sections; the index follows in a job."""
        self.core.kb.tags.decide(doc_id, mode, status, actor=actor, section_ord=section_ord)
        return self.core.jobs.request(JobKind.INDEX, f"{actor} 标注 {doc_id}", actor)

    def review_queue(self, page: int = 1, per_page: int = 20) -> tuple[int, list[dict[str, object]]]:
        """(documents waiting, one page of them): those with suggestions nobody decided."""
        return self.core.kb.tags.review_queue(limit=per_page, offset=(max(page, 1) - 1) * per_page)

    def history(self, doc_id: str) -> list[Decision]:
        return self.core.kb.tags.history(doc_id)


class ModeCases(Cases):

    def taxonomy(self) -> Taxonomy:
        return self.core.kb.modes.taxonomy()

    def counts(self) -> list[dict[str, object]]:
        """Every mode with how many documents carry it, confirmed and suggested."""
        return self.core.kb.modes.counts()

    def mode(self, name: str) -> tuple[dict[str, object], dict[str, list[dict[str, object]]]]:
        """One mode (with its counts) and its cases, confirmed and suggested."""
        found = next((m for m in self.counts() if m["name"] == name), None)
        if found is None:
            raise NotFound(f"没有名为 {name} 的工作模式")
        return found, self.core.kb.tags.documents_with_mode(name)

    def save(self, name: str, short: str = "", description: str = "",
             signals: str | dict[str, float] = "", actor: str = "") -> tuple[str, Job]:
        """Add a mode or change one (by name): saved at once; every document's suggestions are
        then recomputed and the index updated in a job. Returns (``added``/``updated``, job)."""
        terms = parse_signal_text(signals) if isinstance(signals, str) else signals
        outcome = self.core.kb.modes.save(name.strip(), short, description, terms)
        return outcome, self.resuggest(actor, f"{'新增' if outcome == 'added' else '修改'}工作模式 {name.strip()}")

    def load_file(self, path: Path, actor: str = "") -> tuple[dict[str, list[str]], Job | None]:
        """Add or update modes from a taxonomy file; re-suggesting follows in a job when
        anything changed."""
        changed = self.core.kb.modes.load_file(path)
        job = self.resuggest(actor, f"载入分类文件 {path.name}") if changed["added"] or changed["updated"] else None
        return changed, job

    def resuggest(self, actor: str = "", reason: str = "重新计算模式建议") -> Job:
        """Recompute every document's suggestions (people's decisions are kept), then index."""
        return self.core.jobs.request(JobKind.RESUGGEST, reason, actor)
