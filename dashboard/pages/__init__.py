"""The dashboard's pages, one module each, registered like plugins.

A page module defines ``SLUG`` (its id and i18n key ``page.<SLUG>``), ``PATH``, ``ORDER`` (its place
in the navigation) and ``layout(**query)`` (Dash passes the URL's query parameters). Adding a page is
adding a module here: the app and the header find it through ``all_pages``.
"""
from __future__ import annotations

import importlib
import pkgutil


_callbacks: tuple[dict, list] | None = None


def all_pages() -> list:
    global _callbacks
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_")]
    if _callbacks is None:
        from dash import _callback

        # Dash hands the callbacks that modules register at import to the first app that starts
        # and forgets them; keep a copy so a second app in the same process (tests) gets them too.
        _callbacks = (dict(_callback.GLOBAL_CALLBACK_MAP), list(_callback.GLOBAL_CALLBACK_LIST))
    return sorted((m for m in mods if hasattr(m, "PATH")), key=lambda m: m.ORDER)


def restore_callbacks() -> None:
    """Give the next app the page callbacks again (see all_pages)."""
    from dash import _callback

    if _callbacks is None:
        return
    for key, value in _callbacks[0].items():
        _callback.GLOBAL_CALLBACK_MAP.setdefault(key, value)
    if not _callback.GLOBAL_CALLBACK_LIST:
        _callback.GLOBAL_CALLBACK_LIST.extend(_callbacks[1])
