"""The dashboard's pages; each module has a ``layout(**query)`` and registers with ``register``."""
