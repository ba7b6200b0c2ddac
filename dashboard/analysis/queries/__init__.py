"""Every SQL statement the dashboard sends to the store's tables, one module per subject, each
function named by the question it answers or the table it maintains. The modules around it keep
the logic (pandas, the decisions) and call these; tests/test_sql_in_queries.py fails when a
statement appears anywhere else in dashboard/ (collectors/store/ is the store's own layer).

Callers import the package and name the module: ``queries.posts.reach_range(...)``,
``queries.rollup_store.replace_days(conn, ...)``. The modules import nothing of the analysis at
import time (the few that need metrics, anomalies or rollups import them inside a function), so
rollups, flag_store and the rest can import the package at the top.
"""
from __future__ import annotations

from . import (annotation_rows, anomaly_inputs, counts, events, exports, flag_tables, frames, freshness,
               imports, latest_store, meta, names, parts, post_ids, post_list, posts, rollup, rollup_store, versions,
               week_reports)

__all__ = ["annotation_rows", "anomaly_inputs", "counts", "events", "exports", "flag_tables", "frames",
           "freshness", "imports", "latest_store", "meta", "names", "parts", "post_ids", "post_list", "posts", "rollup",
           "rollup_store", "versions", "week_reports"]
