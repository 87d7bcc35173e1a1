"""红线 Hongxian knowledge base: documents, practices, taxonomy and tag decisions."""

from .database import KnowledgeBase
from .errors import BadRequest, ImportRejected, KbError, NotFound, QueryError
from .ingest import IngestItem, IngestReport
from .settings import Settings, load_settings

__version__ = "0.1.0"
__all__ = ["BadRequest", "ImportRejected", "KbError", "NotFound", "QueryError", "IngestItem",
           "IngestReport", "KnowledgeBase", "Settings", "load_settings"]
