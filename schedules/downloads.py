"""Downloads for the `refresh-networks` job: fetch a file only when the server has a newer one.

Each file is asked for with the ETag / Last-Modified of the copy already on disk
(a 304 means nothing new) and written atomically. A URL ending in
`pfx2as-creation.log` (CAIDA's list of RouteViews pfx2as files) stands for the
newest file that log lists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from monitor.core.errors import ResolverUnavailable
from monitor.ingest.feed_client import feed_label

STATE_FILE = "downloads.json"
CREATION_LOG = "pfx2as-creation.log"


@dataclass(frozen=True)
class Fetched:
    """A file on disk and whether this run brought a new copy."""

    path: Path
    changed: bool


def latest_from_creation_log(text: str, log_url: str) -> str:
    """The newest file's URL in a CAIDA `pfx2as-creation.log` (`seq<TAB>timestamp<TAB>path`)."""
    entries = [
        line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    entries = [fields for fields in entries if len(fields) >= 3 and fields[1].strip().isdigit()]
    if not entries:
        raise ResolverUnavailable(f"{feed_label(log_url)}: no files listed in the creation log")
    newest = max(entries, key=lambda fields: int(fields[1]))
    return str(httpx.URL(log_url).join(newest[2].strip()))


def fetch_newer(
    urls: dict[str, str],
    folder: Path,
    *,
    timeout: float = 120.0,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Fetched]:
    """Bring each named URL's file up to date in `folder`; empty URLs are left out."""
    folder.mkdir(parents=True, exist_ok=True)
    state_path = folder / STATE_FILE
    state = json.loads(state_path.read_text("utf-8")) if state_path.exists() else {}
    fetched: dict[str, Fetched] = {}
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=True) as client:
        for key, url in urls.items():
            if not url:
                continue
            if url.endswith(CREATION_LOG):
                url = latest_from_creation_log(_get(client, url).text, url)
            fetched[key], state[key] = _fetch(client, url, folder, state.get(key))
    temporary = state_path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2), "utf-8")
    os.replace(temporary, state_path)
    return fetched


def _get(client: httpx.Client, url: str) -> httpx.Response:
    response = client.get(url)
    if response.status_code != 200:
        raise ResolverUnavailable(f"download {feed_label(url)}: HTTP {response.status_code}")
    return response


def _fetch(
    client: httpx.Client, url: str, folder: Path, known: dict | None
) -> tuple[Fetched, dict]:
    name = httpx.URL(url).path.rstrip("/").rsplit("/", 1)[-1] or "download"
    target = folder / name
    headers = {}
    if known and known.get("url") == url and target.exists():
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 304 and headers:
            return Fetched(target, False), known
        if response.status_code != 200:
            raise ResolverUnavailable(f"download {feed_label(url)}: HTTP {response.status_code}")
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
        os.replace(partial, target)
        if known and known.get("file") not in (None, name):
            # A newer dated file replaces the old one (CAIDA names files by date).
            (folder / known["file"]).unlink(missing_ok=True)
        record = {
            "url": url,
            "file": name,
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
        }
    return Fetched(target, True), record
