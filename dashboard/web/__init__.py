"""The web layer: the Dash app served by Flask, its pages, their downloads and the login.

Lives here: what serves or draws pages (app, auth, layout, pages/, downloads, figures, grids,
coverage, freshness), what reads a request (filters: the URL; data: the running app's engine and
settings), the cache every worker shares (cache, behind analysis/shared.py) and the Weekly page's
report for the page's query (week_report), with the browser's files in assets/.

May import: collectors, dashboard.analysis, dashboard.text, and the services at the top that a page
drives (ingest for uploads; alerts and alert_rules for the Alerts page); a
page never imports another page, and the downloads import no page (pyproject.toml's contracts).
"""
