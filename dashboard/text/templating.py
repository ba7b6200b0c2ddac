"""The HTML that is not Dash: the weekly report (and its PDF) and the login and logout pages.

One Jinja2 environment, made on first use, renders the templates in dashboard/text/templates/ with
autoescaping on, so every value a template prints is escaped exactly once and only what is marked
safe (``Markup``: a style sheet from the templates folder, a piece of HTML a template built) goes
in as it is. Style sheets live beside the templates as .css files and are put inline when a page is
rendered (``stylesheet``): the report must stay one self-contained file, and the login page's policy
allows inline styles only. Formatting numbers and choosing words stays with the callers
(dashboard/analysis/summary.py, dashboard/web/auth.py); the templates hold the markup.
"""
from __future__ import annotations

from functools import cache

from markupsafe import Markup, escape

from .i18n import template as _template


@cache
def environment():
    # Imported on first use: `reach summary` without --html (and every command that only imports
    # the summary's module) need no template engine.
    import jinja2

    # PackageLoader: the templates are package data (pyproject.toml), found in a wheel as in a
    # checkout. StrictUndefined: a misspelt name is an error in the tests, not an empty cell.
    env = jinja2.Environment(loader=jinja2.PackageLoader("dashboard.text", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.globals["stylesheet"] = stylesheet
    return env


@cache
def stylesheet(name: str) -> Markup:
    """The style sheet ``name`` from the templates folder, as it is: CSS in a <style> element is
    not HTML, so escaping it would break its quotes (font names) rather than protect anything."""
    env = environment()
    source, _, _ = env.loader.get_source(env, name)
    return Markup(source)


def render(template: str, /, **context) -> str:
    """The template ``template`` rendered with ``context`` (positional only: "name" is a value)."""
    return environment().get_template(template).render(**context)


def ui_html(key: str, lang: str, **pieces) -> Markup:
    """The UI string ``key`` (dashboard/text/i18n.py) as HTML: its own words escaped, each piece escaped
    too unless it is ``Markup`` already (a piece a template built, such as the week in <strong>)."""
    return escape(_template(key, lang)).format(**pieces)
