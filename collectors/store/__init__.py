"""The store: where everything read from the exports is kept, one module per concern.

``schema`` the tables and the numbered steps that made them; ``database`` opening a database (any
SQLAlchemy URL, SQLite by default), bringing it to the current schema and the one write lock every
writer takes; ``bulk`` writing one parsed file in one transaction; ``ledger`` the bookkeeping
rows beside the observations (the import record, failures, rollup_pending marks, the demo's
clock, the collectors' remembered state, saved mappings). Imported by module, never through this
package: ``from collectors.store import database, schema``.
"""
