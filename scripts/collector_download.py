#!/usr/bin/env python3
"""Download CollecTor archive tarballs into CollecTor's own folder layout (`make download`).

    collector_download.py --months 2021-09:2021-12 --types consensuses,server-descriptors,exit-list \
        --dest data/raw/collector [--url https://collector.torproject.org]

Each tarball lands at `<dest>/archive/<folder>/<marker>-YYYY-MM.tar.xz`, exactly where it sits on
CollecTor, so `relaytrail import <dest>` and the pipelines find it. curl does the transfer into a
hidden `.<name>.part` file and resumes it (`-C -`) after an interruption, in this run (retries) or the next one;
the file is renamed into place only once its size (and sha256, when the index has one) equals what
CollecTor's `index/index.json` lists. Without an index, the server's Content-Length is the expected
size. A complete file whose size still matches the index is skipped; one that no longer matches (the
current month's tarball grows daily) is fetched again.

Exit status: 0 when every requested tarball is present and verified, 1 when any failed (each
failure is named with its URL), 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import lzma
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Document type (as users name it) -> (folder under archive/, tarball marker). Names follow the
# tarballs, so `--types` accepts what a user sees in CollecTor's listing.
TYPES: dict[str, tuple[str, str]] = {
    "consensuses": ("relay-descriptors/consensuses", "consensuses"),
    "server-descriptors": ("relay-descriptors/server-descriptors", "server-descriptors"),
    "extra-infos": ("relay-descriptors/extra-infos", "extra-infos"),
    "votes": ("relay-descriptors/votes", "votes"),
    "microdescs": ("relay-descriptors/microdescs", "microdescs"),
    "bandwidths": ("relay-descriptors/bandwidths", "bandwidths"),
    "statuses": ("relay-descriptors/statuses", "statuses"),
    "exit-list": ("exit-lists", "exit-list"),
    "bridge-statuses": ("bridge-descriptors/statuses", "bridge-statuses"),
    "bridge-server-descriptors": ("bridge-descriptors/server-descriptors", "bridge-server-descriptors"),
    "bridge-extra-infos": ("bridge-descriptors/extra-infos", "bridge-extra-infos"),
    "bridge-pool-assignments": ("bridge-pool-assignments", "bridge-pool-assignments"),
}
ALIASES = {"exit-lists": "exit-list"}

# CollecTor rebuilds the tarballs of the current month and of the month of "7 days ago".
SETTLE_DAYS = 7


@dataclass
class Expected:
    size: int | None
    sha256: str | None  # base64, as in index.json


def parse_months(spec: str) -> list[tuple[int, int]]:
    """`2021-09:2021-12` (inclusive range), `2021-10`, or a comma list of either."""
    months: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition(":")
        start, end = parse_month(first), parse_month(last or first)
        if end < start:
            raise ValueError(f"month range {part!r} ends before it starts")
        year, month = start
        while (year, month) <= end:
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not months:
        raise ValueError("no months given")
    return sorted(set(months))


def parse_month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in text.strip().split("-"))
    except ValueError:
        raise ValueError(f"month {text!r} is not YYYY-MM") from None
    if not 2004 <= year <= 2100 or not 1 <= month <= 12:
        raise ValueError(f"month {text!r} is out of range")
    return year, month


def parse_types(spec: str) -> list[str]:
    names = []
    for name in (n.strip() for n in spec.split(",")):
        if not name:
            continue
        name = ALIASES.get(name, name)
        if name not in TYPES:
            raise ValueError(f"unknown type {name!r}; known: {', '.join(TYPES)}")
        names.append(name)
    if not names:
        raise ValueError("no types given")
    return names


def fetch_index(url: str) -> dict[str, Expected] | None:
    """Sizes and digests of every archive file, by path relative to the CollecTor root."""
    for suffix, decode in ((".xz", lzma.decompress), ("", lambda b: b)):
        try:
            with urllib.request.urlopen(f"{url}/index/index.json{suffix}", timeout=60) as response:
                index = json.loads(decode(response.read()))
            break
        except (urllib.error.URLError, OSError, ValueError, lzma.LZMAError):
            continue
    else:
        return None
    files: dict[str, Expected] = {}

    def walk(node: dict, prefix: str) -> None:
        for file in node.get("files", []):
            files[prefix + file["path"]] = Expected(file.get("size"), file.get("sha256"))
        for child in node.get("directories", []):
            walk(child, prefix + child["path"] + "/")

    walk(index, "")
    return files


def remote_size(url: str) -> int | None:
    """Content-Length of a HEAD request, for mirrors without an index."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            length = response.headers.get("Content-Length")
            return int(length) if length is not None else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def sha256_b64(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


def verify(path: Path, expected: Expected) -> str | None:
    """None when `path` is what CollecTor lists, else what differs."""
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        return f"size {size} B, CollecTor lists {expected.size} B"
    if expected.sha256 and sha256_b64(path) != expected.sha256:
        return f"sha256 differs from CollecTor's {expected.sha256}"
    return None


# curl exit statuses after which the transfer is resumed: could not connect, timeout, partial file,
# empty reply, send/receive failures, HTTP/2 stream error.
TRANSIENT = {7, 18, 28, 52, 55, 56, 92}


def curl(url: str, part: Path, retries: int) -> int:
    """Fetch `url` into `part`, continuing from its current length, and again from the new length
    after a transient failure (curl's own --retry would start over); curl's last exit status."""
    command = [
        "curl", "--fail", "--location", "--silent", "--show-error",
        "--continue-at", "-", "--output", str(part),
        "--connect-timeout", "30", "--speed-limit", "1024", "--speed-time", "60",
    ]
    if sys.stderr.isatty():
        command.remove("--silent")
        command.append("--progress-bar")
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 30))
            print(f"  retrying from {part.stat().st_size if part.exists() else 0} B")
        status = subprocess.call(command + [url])
        if status not in TRANSIENT:
            return status
    return status


def month_settled(year: int, month: int, today: dt.date) -> bool:
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    return today >= next_month + dt.timedelta(days=SETTLE_DAYS)


def download(relative: str, url: str, dest: Path, expected: Expected, retries: int) -> str | None:
    """Bring `dest` up to date with `url`; None on success, else the reason it failed."""
    if dest.exists():
        problem = verify(dest, expected)
        if problem is None:
            print(f"up to date  {relative}")
            return None
        print(f"changed     {relative} ({problem}): fetching again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")  # hidden: imports of <dest> pass over it
    for attempt in (1, 2):
        if part.exists():
            have = part.stat().st_size
            if expected.size is not None and have > expected.size:
                part.unlink()  # longer than the file: a rebuilt tarball, start over
        if part.exists() and part.stat().st_size:
            print(f"resuming    {relative} at {part.stat().st_size} B")
        else:
            print(f"fetching    {relative}")
        complete = part.exists() and expected.size is not None and part.stat().st_size == expected.size
        status = 0 if complete else curl(url, part, retries)
        if status != 0:
            return f"curl exit status {status} for {url} (partial data kept in {part}; re-run to resume)"
        problem = verify(part, expected)
        if problem is None:
            os.replace(part, dest)
            print(f"verified    {relative} ({dest.stat().st_size} B)")
            return None
        part.unlink()  # a resumed file that does not verify: CollecTor rebuilt it; fetch whole
        if attempt == 2:
            return f"{url}: {problem} after a fresh download"
        print(f"mismatch    {relative} ({problem}): fetching the whole file again")
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", required=True, help="YYYY-MM, YYYY-MM:YYYY-MM, comma lists")
    parser.add_argument("--types", default="consensuses,server-descriptors,exit-list")
    parser.add_argument("--dest", default="data/raw/collector", type=Path)
    parser.add_argument("--url", default=os.environ.get("COLLECTOR_URL", "https://collector.torproject.org"))
    parser.add_argument("--retries", type=int, default=5, help="resumptions per file after a dropped transfer")
    args = parser.parse_args()
    try:
        months = parse_months(args.months)
        types = parse_types(args.types)
    except ValueError as error:
        print(f"collector_download: {error}", file=sys.stderr)
        return 2
    base = args.url.rstrip("/")
    index = fetch_index(base)
    if index is None:
        print(f"note: no index at {base}/index/index.json; verifying sizes by Content-Length", file=sys.stderr)
    today = dt.datetime.now(dt.timezone.utc).date()
    failures = []
    for name in types:
        folder, marker = TYPES[name]
        for year, month in months:
            relative = f"archive/{folder}/{marker}-{year:04d}-{month:02d}.tar.xz"
            url = f"{base}/{relative}"
            if index is not None:
                if relative not in index:
                    failures.append(f"{url}: not in CollecTor's index (no such month for {name}?)")
                    continue
                expected = index[relative]
            else:
                expected = Expected(remote_size(url), None)
            if not month_settled(year, month, today):
                print(f"note: {relative} is still being rebuilt by CollecTor; re-run later to refresh it",
                      file=sys.stderr)
            problem = download(relative, url, args.dest / relative, expected, args.retries)
            if problem:
                failures.append(problem)
    for problem in failures:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
