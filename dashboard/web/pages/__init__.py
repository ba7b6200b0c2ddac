"""The dashboard's pages, one module each, registered like plugins.

A page module defines ``SLUG`` (its id and i18n key ``page.<SLUG>``), ``PATH``, ``ORDER`` (its place
in the navigation), ``layout(**query)`` (Dash passes the URL's query parameters) and, when it has
callbacks, ``register(app)``. Adding a page is adding a module here: the app and the header find it
through ``all_pages``, and the app factory calls each page's ``register`` on the app it builds.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil


@functools.cache
def all_pages() -> tuple:
    """The page modules in navigation order. The folder is scanned once per process: the header,
    drawn on every page view, asks for them each time."""
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_")]
    return tuple(sorted((m for m in mods if hasattr(m, "PATH")), key=lambda m: m.ORDER))


class Callbacks:
    """A module's callbacks, declared beside their functions (``@callbacks(Output(...), ...)``
    as with ``dash.callback``) and registered on an app by ``register(app)`` through
    ``app.callback`` and ``app.clientside_callback``.

    Not ``dash.callback``: Dash hands the callbacks registered that way to the first app that
    serves a request and forgets them, so a second app in the same process (the tests make many,
    gunicorn's workers one each) would have none. Each app gets its own copy here. The decorated
    function is returned unchanged, so tests call it as a plain function.
    """

    def __init__(self):
        self._server: list[tuple[tuple, dict, object]] = []
        self._client: list[tuple[object, tuple, dict]] = []

    def __call__(self, *args, **kwargs):
        def declare(func):
            self._server.append((args, kwargs, func))
            return func
        return declare

    def clientside(self, function, *args, **kwargs) -> None:
        self._client.append((function, args, kwargs))

    def register(self, app, background_only: bool = False) -> None:
        """Declare the callbacks on ``app``. A background callback (``background=True``) gets the
        deployment's manager (dashboard/web/jobs.py); ``background_only`` declares only those, as
        `reach worker` does to run them."""
        from .. import jobs

        for args, kwargs, func in self._server:
            if kwargs.get("background"):
                kwargs = {**kwargs, "manager": jobs.manager()}
            elif background_only:
                continue
            app.callback(*args, **kwargs)(func)
        if background_only:
            return
        for function, args, kwargs in self._client:
            app.clientside_callback(function, *args, **kwargs)
