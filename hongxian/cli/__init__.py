"""The ``kb`` command: a thin front over the application core, like the site.

=====================  ===============================================================
``documents.py``       ingest, index, search, show, remove
``taxonomy.py``        modes, eval
``server.py``          serve, settings, status, jobs
``accounts.py``        user add / passwd / role / list
``operations.py``      backup, restore, check, import-state
``export.py``          export (the state as JSON; handouts of pearl strings and cases)
``cite.py``            cite
=====================  ===============================================================
"""

from . import accounts, cite, documents, export, operations, server, taxonomy  # noqa: F401 - each registers its commands
from .base import main

__all__ = ["main"]
