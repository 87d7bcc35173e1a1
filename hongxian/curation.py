"""Use cases of curation: pearl strings (串珍珠) — build, order, annotate, publish, cite.

Who may see and change a string is decided here (:func:`kb.pearls.can_view`/``can_edit``):
published strings are public, a draft is seen by its curator and administrators only and is
NotFound to everyone else (not acknowledged to strangers), and only its curator or an
administrator changes it.

Every change may name the string's ``version`` it was made from (the edit page sends the one
it showed): a change made from an older version than the one stored is refused with
:class:`~kb.errors.Conflict` (409) and changes nothing, so two curators saving the same string
never silently erase each other's work. Without a version a change is applied as before (last
writer wins). Adding a pearl from a search result or a case page names no version: it only
appends.
"""

from __future__ import annotations

from typing import Any

from kb.accounts import User
from kb.citation import cite
from kb.errors import BadRequest, Forbidden, NotFound
from kb.model import WHOLE_DOCUMENT, PearlStatus, Role
from kb.pearls import can_edit, can_view, pearl_section

from .cases import Cases

NEW_STRING = "new"  # the target of “add to a new string”
UNTITLED = "未命名的一串珍珠"


class PearlCases(Cases):

    @property
    def _pearls(self):  # noqa: ANN202 - kb.pearls.PearlStrings
        return self.core.kb.pearls

    # ---------------------------------------------------------------- seeing
    def get(self, string_id: int, user: User | None) -> dict[str, Any]:
        """The string, if ``user`` may see it; a draft is NotFound to everyone else."""
        string = self._pearls.get(string_id)
        if not can_view(string, user):
            raise NotFound("没有这串珍珠，或它还是草稿")
        return string

    def editable(self, string_id: int, user: User | None) -> dict[str, Any]:
        """The string, if ``user`` may change it (Forbidden otherwise)."""
        string = self.get(string_id, user)
        if not can_edit(string, user):
            raise Forbidden("只有这串珍珠的编者或管理员可以修改它")
        return string

    @staticmethod
    def may_edit(string: dict[str, Any], user: User | None) -> bool:
        return can_edit(string, user)

    def visible(self, user: User | None) -> list[dict[str, Any]]:
        """Every string ``user`` may see: the published ones, their own drafts (all for admins)."""
        return [s for s in self._pearls.summaries() if can_view(s, user)]

    def published(self, limit: int | None = None) -> list[dict[str, Any]]:
        strings = self._pearls.summaries(status=PearlStatus.PUBLISHED)
        return strings[:limit] if limit is not None else strings

    def overview(self, user: User | None) -> dict[str, list[dict[str, Any]]]:
        """The pearl-strings page: published, the viewer's own, and (for admins) others' drafts."""
        mine = self._pearls.summaries(owner=user.username) if user and user.can(Role.EDITOR) else []
        others = ([s for s in self._pearls.summaries(status=PearlStatus.DRAFT) if s["owner"] != user.username]
                  if user and user.can(Role.ADMIN) else [])
        return {"published": self.published(), "mine": mine, "others": others}

    def addable(self, user: User | None) -> list[dict[str, Any]]:
        """The strings ``user`` may add pearls to (for the “add to a pearl string” forms)."""
        if user is None or not user.can(Role.EDITOR):
            return []
        return self._pearls.summaries() if user.can(Role.ADMIN) else self._pearls.summaries(owner=user.username)

    def containing(self, doc_id: str, user: User | None) -> list[dict[str, Any]]:
        """The strings ``user`` may see that hold this case or one of its practices."""
        return [s for s in self._pearls.containing(doc_id) if can_view(s, user)]

    @staticmethod
    def citations(string: dict[str, Any]) -> dict[int, str]:
        """Each pearl's GB/T 7714 reference (by pearl id)."""
        return {p["id"]: cite(p["doc"]) for p in string["pearls"] if p["doc"]}

    # -------------------------------------------------------------- changing
    def create(self, user: User, title: str, theme: str = "", intro: str = "") -> int:
        return self._pearls.create(user.username, title, theme, intro)

    def update(self, string_id: int, user: User, title: str, theme: str, intro: str,
               version: int | None = None) -> None:
        self.editable(string_id, user)
        self._pearls.update(string_id, title=title, theme=theme, intro=intro, version=version)

    def add(self, user: User, doc_id: str, section_ord: int, target: str,
            new_title: str = "") -> tuple[dict[str, Any], tuple[str, str] | None]:
        """Add a case (``WHOLE_DOCUMENT``) or one of its practices to the string ``target`` (an
        id) or to a new one (``NEW_STRING``). The pearl is checked before anything is created,
        so a refused pearl never leaves an empty new string. Returns (the string, and for a
        heading-only section the (heading, passage heading) it was folded into)."""
        doc = self.core.kb.documents.get(doc_id)
        folded = None
        if section_ord != WHOLE_DOCUMENT:
            asked = next((s for s in doc.sections if s.ord == section_ord), None)
            if asked is None:
                raise BadRequest(f"案例 {doc_id} 没有第 {section_ord} 节")
            section = pearl_section(doc.sections, section_ord, doc_id)  # a bare heading: its first passage
            if section.ord != section_ord:
                folded = asked.heading, section.heading
        if target == NEW_STRING:
            string_id = self._pearls.create(user.username, new_title.strip() or UNTITLED)
            try:
                self._pearls.add_pearl(string_id, doc_id, section_ord)
            except BaseException:
                self._pearls.delete(string_id)
                raise
        else:
            if not target.isdigit():
                raise BadRequest("请选择要加入的那一串珍珠")
            string_id = int(target)
            self.editable(string_id, user)
            self._pearls.add_pearl(string_id, doc_id, section_ord)
        return self._pearls.get(string_id), folded

    def move(self, string_id: int, pearl_id: int, user: User, offset: int,
             version: int | None = None) -> None:
        self.editable(string_id, user)
        self._pearls.move_pearl(string_id, pearl_id, offset, version=version)

    def remove(self, string_id: int, pearl_id: int, user: User, version: int | None = None) -> None:
        self.editable(string_id, user)
        self._pearls.remove_pearl(string_id, pearl_id, version=version)

    def annotate(self, string_id: int, pearl_id: int, user: User, commentary: str,
                 version: int | None = None) -> None:
        self.editable(string_id, user)
        self._pearls.annotate(string_id, pearl_id, commentary, version=version)

    def reorder(self, string_id: int, user: User, pearl_ids: list[int],
                version: int | None = None) -> dict[str, Any]:
        """A new order (every pearl id once); returns the string as now stored (its pearls in
        the stored order, its new ``version``)."""
        self.editable(string_id, user)
        self._pearls.reorder(string_id, pearl_ids, version=version)
        return self._pearls.get(string_id)

    def publish(self, string_id: int, user: User, version: int | None = None) -> None:
        self.editable(string_id, user)
        self._pearls.publish(string_id, version=version)

    def unpublish(self, string_id: int, user: User, version: int | None = None) -> None:
        self.editable(string_id, user)
        self._pearls.unpublish(string_id, version=version)

    def delete(self, string_id: int, user: User) -> None:
        self.editable(string_id, user)
        self._pearls.delete(string_id)
