"""What every group of use cases shares: the core it works through."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import Hongxian


class Cases:
    """A group of use cases of the core (documents, search, tagging, …)."""

    def __init__(self, core: Hongxian) -> None:
        self.core = core
