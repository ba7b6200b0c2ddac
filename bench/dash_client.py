"""The browser's side of a running `reach serve`, for the benchmarks that drive one over HTTP
(bench/scale.py's pages, bench/load.py's viewers).

A page is the layout request (Dash pages' ``_pages_location`` callback) and then each callback
as the browser sends it: POST /_dash-update-component with a body built from the callback map of
GET /_dash-dependencies and the values of the layout just served. Building the body from the map,
not by hand, keeps the benchmarks honest when a page changes: a callback that is gone is an error
that names it, not a request the browser would never send. The helpers for the server processes
(a free loopback port, waiting for the server to answer, its peak memory) live here too, so both
benchmarks start and measure a server the same way.
"""
from __future__ import annotations

import math
import socket
import time
from pathlib import Path


class DashError(RuntimeError):
    """An answer the browser would show as an error: an HTTP status other than 200/204, or a body
    that is not a callback's answer."""


def find_dep(deps: list[dict], input_id: str, prop: str) -> dict:
    """The callback that takes ``input_id.prop`` as an input."""
    for d in deps:
        if any(i["id"] == input_id and i["property"] == prop for i in d["inputs"]):
            return d
    raise SystemExit(f"no callback takes {input_id}.{prop}: the dashboard changed; update bench/dash_client.py's "
                     "callers")


def payload(dep: dict, values: dict) -> dict:
    """The body of POST /_dash-update-component for ``dep``, each input and state taking its value
    from ``values`` ({(id, property): value}; absent is None, as for a prop the layout left unset)."""
    out = dep["output"]
    specs = out[2:-2].split("...") if out.startswith("..") else [out]
    outputs = [dict(zip(("id", "property"), sp.split(".", 1))) for sp in specs]

    def item(x):
        return {"id": x["id"], "property": x["property"], "value": values.get((x["id"], x["property"]))}

    inputs = [item(x) for x in dep["inputs"]]
    return {"output": out, "outputs": outputs if len(outputs) > 1 or out.startswith("..") else outputs[0],
            "inputs": inputs, "state": [item(x) for x in dep["state"]],
            "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}


def layout_payload(deps: list[dict], path: str, search: str = "") -> dict:
    """The request Dash pages sends for a page's layout when the URL becomes ``path`` + ``search``."""
    dep = find_dep(deps, "_pages_location", "pathname")
    return payload(dep, {("_pages_location", "pathname"): path, ("_pages_location", "search"): search})


def post(session, base: str, body: dict, timeout: float):
    """One callback request: its answer (None for 204, the browser's "nothing to update"), or
    DashError for anything the browser would not draw."""
    r = session.post(base + "/_dash-update-component", json=body, timeout=timeout)
    if r.status_code == 204:
        return None
    if r.status_code != 200:
        raise DashError(f"HTTP {r.status_code}: {r.text[:300]}")
    try:
        answer = r.json()
    except ValueError:
        raise DashError(f"HTTP 200 but not JSON: {r.text[:200]}") from None
    if not isinstance(answer, dict) or "response" not in answer:
        raise DashError(f"HTTP 200 but no callback answer: {r.text[:200]}")
    return answer


def page_tree(answer):
    """The component tree of a layout answer (what ``_pages_content`` became)."""
    return ((answer or {}).get("response") or {}).get("_pages_content", {}).get("children")


def new_search(answer) -> str | None:
    """The url.search a callback answered with (its key may carry Dash's @hash of a duplicate output)."""
    url = ((answer or {}).get("response") or {}).get("url") or {}
    return next((v for k, v in url.items() if k.startswith("search")), None)


def find(tree, cid: str):
    """The props of the component with id ``cid`` in a layout answer, or None."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == cid:
                return props
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


# --- the server processes ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, proc, what: str, timeout: float = 120) -> None:
    """Wait for ``base`` to serve its layout; SystemExit naming ``what`` (a log file) if the server
    process ends or ``timeout`` passes first."""
    import requests

    deadline = time.time() + timeout
    while True:
        try:
            requests.get(base + "/_dash-layout", timeout=5).raise_for_status()
            return
        except requests.RequestException:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"reach serve did not come up; see {what}")
            time.sleep(0.5)


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out += map(int, kids)
        todo += map(int, kids)
    return out


def hwm_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of the largest process in the tree under ``pid`` (itself included)."""
    best = None
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best or 0, int(line.split()[1]) / 1024)
        except OSError:
            pass
    return best


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy in this process."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
