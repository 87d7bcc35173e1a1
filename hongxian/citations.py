"""Use case: the references of a document or of a pearl string, as GB/T 7714—2015 text, RIS or
BibTeX (``kb cite``, the case page, ``/doc/<id>/cite.<fmt>``, ``/pearls/<id>/references.<fmt>``).

The online form of a reference names the address readers use: the ``public_url`` setting plus
``/doc/<id>``. Without ``public_url`` the fronts may pass the request's own address; it is used
only when it is not a loopback address (127.0.0.0/8, ::1, localhost) — a reference that sends a
reader to 127.0.0.1 is worse than none.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from kb.accounts import User
from kb.citation import cite, doc_id_of, reference_list
from kb.citation_formats import export
from kb.errors import BadRequest
from kb.model import Document

from .cases import Cases

FORMATS = ("text", "bibtex", "ris")
MIME = {"text": "text/plain; charset=utf-8", "bibtex": "application/x-bibtex; charset=utf-8",
        "ris": "application/x-research-info-systems; charset=utf-8"}
SUFFIX = {"text": "txt", "bibtex": "bib", "ris": "ris"}


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine only (nobody else can follow it)."""
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CitationCases(Cases):
    """References of documents and pearl strings."""

    def base_url(self, request_root: str | None = None) -> str | None:
        """The address readers use: ``public_url``, else ``request_root`` unless it is loopback."""
        public = self.core.settings.public_url
        if public:
            return public
        if request_root and not is_loopback(request_root):
            return request_root.rstrip("/")
        return None

    def document_url(self, doc_id: str, request_root: str | None = None) -> str | None:
        base = self.base_url(request_root)
        return f"{base}/doc/{doc_id}" if base else None

    def document(self, doc_id: str, fmt: str = "text", online: bool = False,
                 request_root: str | None = None, accessed: datetime.date | None = None) -> str:
        """One document's reference in ``fmt``; ``online`` gives the GB/T 7714 online form."""
        doc = self.core.documents.show(doc_id)
        return self.render([doc], fmt, online=online, request_root=request_root, accessed=accessed)

    def pearl_string(self, string_id: int, user: User | None, fmt: str = "text",
                     request_root: str | None = None, accessed: datetime.date | None = None) -> str:
        """The references of a pearl string's source cases (visible to ``user``), each once."""
        string = self.core.pearls.get(string_id, user)
        docs = [p["doc"] for p in string["pearls"] if p.get("doc")]
        return self.render(docs, fmt, online=True, request_root=request_root, accessed=accessed)

    def render(self, docs: list[Document] | list[dict[str, Any]], fmt: str, online: bool = False,
               request_root: str | None = None, accessed: datetime.date | None = None) -> str:
        if fmt not in FORMATS:
            raise BadRequest(f"不支持的引用格式：{fmt}（可用：{'、'.join(FORMATS)}）")
        ids = [doc_id_of(d) for d in docs]
        url_of = {i: u for i in ids if (u := self.document_url(i, request_root))} if online or fmt != "text" else {}
        if fmt == "text":
            if len(docs) == 1:
                return cite(docs[0], url=url_of.get(ids[0]), accessed=accessed) + "\n"
            return "".join(f"[{n}] {line}\n" for n, line in
                           enumerate(reference_list(docs, url_of=url_of, accessed=accessed), 1))
        return export(docs, fmt, url_of=url_of, accessed=accessed)
