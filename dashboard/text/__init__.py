"""How the dashboard writes for people, whatever prints it (a page, the weekly report, the command
line, a notebook): words, numbers and dates in English and Chinese (i18n, through Babel), the ISO
week label (weeks), which URLs become links (links), one colour per platform (colours), and the
HTML documents that are not Dash (templating, with its templates/ and their CSS).

May import: collectors (the platform labels) and its own libraries (Babel, Jinja2). Never the
analysis nor the web layer, which both use it (pyproject.toml's contracts).
"""
