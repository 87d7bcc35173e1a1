"""红线 Hongxian's application core: the use cases both fronts call (see :mod:`hongxian.core`)."""

from .core import Hongxian

__all__ = ["Hongxian"]
