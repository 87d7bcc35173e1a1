"""Chinese analysis, the Whoosh index built from the knowledge base, and search over it."""
