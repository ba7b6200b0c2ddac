"""The analysis: every number the dashboard, the exports, the weekly summary and the notebooks show,
computed from the store.

Lives here: what reads the store and computes (queries, metrics, rollups, anomalies, exports,
summary, the services the pages and downloads call: leaderboard, platform_totals, listing), what a
refresh stores for the first view (flag_store, week_store), the campaign settings (config), and the
seams to whatever keeps results (stamps: the data version and code stamp; shared: results shared
by every process; clock: the database's now and the data's freshness).

May import: collectors, dashboard.text. Never dashboard.web, nor Flask, Dash or plotly, nor the
commands (pyproject.toml's import contracts): the command line and the notebooks run all of it
without a web server.
"""
