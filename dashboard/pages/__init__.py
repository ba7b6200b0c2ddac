"""The dashboard's pages, one module each, registered like plugins.

A page module defines ``SLUG`` (its id and i18n key ``page.<SLUG>``), ``PATH``, ``ORDER`` (its place
in the navigation) and ``layout(**query)`` (Dash passes the URL's query parameters). Adding a page is
adding a module here: the app and the header find it through ``all_pages``.
"""
from __future__ import annotations

import importlib
import pkgutil


def all_pages() -> list:
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_")]
    return sorted((m for m in mods if hasattr(m, "PATH")), key=lambda m: m.ORDER)
