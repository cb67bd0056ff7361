"""`make download` against a CollecTor mirror served on 127.0.0.1 by this test.

The mirror has CollecTor's layout (`archive/<folder>/<marker>-YYYY-MM.tar.xz`, `index/index.json`
with sizes and base64 sha256). Its server honours Range requests, logs every request, and can cut
a transfer after a number of bytes, as a dropped connection does. Covered: the folder layout on
disk, verification, an interrupted download resumed by the next run (and within one run by curl's
retries), up-to-date files not fetched again, a tarball CollecTor rebuilt (size changed), a month
CollecTor does not have, a mirror without an index, and the hidden partial file that `relaytrail
import` passes over."""

import base64
import hashlib
import json
import lzma
import os
import pathlib
import random
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("RELAYTRAIL_BIN", str(ROOT / "target" / "release" / "relaytrail"))


class Mirror:
    """A CollecTor mirror: files by URL path, a request log, and planned connection cuts."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.cuts: dict[str, list[int]] = {}  # path -> bytes after which the next GETs drop
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.respond(body=False)

            def do_GET(self):
                self.respond(body=True)

            def respond(self, body: bool):
                mirror.requests.append((self.command, self.path, self.headers.get("Range")))
                file = mirror.root / self.path.lstrip("/")
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if not body:
                    return
                cuts = mirror.cuts.get(self.path)
                if cuts:
                    self.wfile.write(data[start:start + cuts.pop(0)])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data[start:])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def archive_gets(self):
        return [(path, rng) for method, path, rng in self.requests if method == "GET" and "/archive/" in path]


def tarball_bytes(name: str, size: int) -> bytes:
    return random.Random(name).randbytes(size)


def publish(root: pathlib.Path, files: dict[str, bytes], listed: dict[str, bytes] | None = None):
    """Write `files` under the mirror root and an index listing `listed` (default: the same files)."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    tree: dict = {"index_created": "2026-11-01 00:00", "path": "https://collector.torproject.org",
                  "files": [], "directories": []}
    for relative, data in (files if listed is None else listed).items():
        node = tree
        *folders, name = relative.split("/")
        for folder in folders:
            child = next((d for d in node["directories"] if d["path"] == folder), None)
            if child is None:
                child = {"path": folder, "files": [], "directories": []}
                node["directories"].append(child)
            node = child
        node["files"].append({"path": name, "size": len(data), "last_modified": "2021-10-08 00:00",
                              "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode()})
    (root / "index").mkdir(exist_ok=True)
    (root / "index" / "index.json.xz").write_bytes(lzma.compress(json.dumps(tree).encode()))


def make_download(mirror: Mirror, raw: pathlib.Path, months: str, types: str, retries: int = 0):
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "download", f"MONTHS={months}", f"TYPES={types}",
         f"COLLECTOR_URL={mirror.url}", f"RAW={raw}", f"DOWNLOAD_RETRIES={retries}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


CONSENSUSES = "archive/relay-descriptors/consensuses/consensuses-2021-09.tar.xz"
CONSENSUSES_OCT = "archive/relay-descriptors/consensuses/consensuses-2021-10.tar.xz"
DESCRIPTORS = "archive/relay-descriptors/server-descriptors/server-descriptors-2021-09.tar.xz"
EXITS = "archive/exit-lists/exit-list-2021-09.tar.xz"


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    files = {name: tarball_bytes(name, size) for name, size in
             [(CONSENSUSES, 700_000), (CONSENSUSES_OCT, 650_000), (DESCRIPTORS, 1_200_000), (EXITS, 90_000)]}
    publish(root, files)
    served = Mirror(root)
    yield served, files
    served.server.shutdown()


def test_downloads_into_collectors_layout_and_verifies(mirror, tmp_path):
    server, files = mirror
    raw = tmp_path / "raw"
    run = make_download(server, raw, "2021-09", "consensuses,server-descriptors,exit-list")
    assert run.returncode == 0, run.stderr
    for relative in (CONSENSUSES, DESCRIPTORS, EXITS):
        assert (raw / "collector" / relative).read_bytes() == files[relative]
    assert not list(raw.rglob(".*.part"))
    assert sorted(path for path, _ in server.archive_gets()) == sorted(f"/{r}" for r in (CONSENSUSES, DESCRIPTORS, EXITS))

    # Up to date: a second run fetches nothing.
    server.requests.clear()
    again = make_download(server, raw, "2021-09", "consensuses,server-descriptors,exit-list")
    assert again.returncode == 0, again.stderr
    assert server.archive_gets() == []
    assert again.stdout.count("up to date") == 3


def test_interrupted_download_resumes_in_the_next_run(mirror, tmp_path):
    server, files = mirror
    raw = tmp_path / "raw"
    cut_at = 300_000
    server.cuts[f"/{CONSENSUSES}"] = [cut_at]
    first = make_download(server, raw, "2021-09", "consensuses", retries=0)
    assert first.returncode != 0
    assert f"{server.url}/{CONSENSUSES}" in first.stderr and "re-run to resume" in first.stderr
    final = raw / "collector" / CONSENSUSES
    partial = final.with_name(f".{final.name}.part")
    assert not final.exists(), "an incomplete tarball must never appear under its real name"
    assert partial.stat().st_size == cut_at

    # The hidden partial file is passed over by an import of the folder, not reported as broken.
    imported = subprocess.run([BINARY, "import", str(raw / "collector"), "--warehouse", str(tmp_path / "wh")],
                              capture_output=True, text=True)
    assert imported.returncode == 0 and "imported 0 input(s)" in imported.stdout + imported.stderr, imported

    server.requests.clear()
    second = make_download(server, raw, "2021-09", "consensuses", retries=0)
    assert second.returncode == 0, second.stderr
    assert f"resuming    {CONSENSUSES} at {cut_at} B" in second.stdout
    assert server.archive_gets() == [(f"/{CONSENSUSES}", f"bytes={cut_at}-")]
    assert final.read_bytes() == files[CONSENSUSES]
    assert not partial.exists()


def test_dropped_connections_are_resumed_within_one_run(mirror, tmp_path):
    server, files = mirror
    raw = tmp_path / "raw"
    server.cuts[f"/{DESCRIPTORS}"] = [200_000, 350_000]
    run = make_download(server, raw, "2021-09", "server-descriptors", retries=3)
    assert run.returncode == 0, run.stderr
    assert (raw / "collector" / DESCRIPTORS).read_bytes() == files[DESCRIPTORS]
    assert server.archive_gets() == [(f"/{DESCRIPTORS}", None), (f"/{DESCRIPTORS}", "bytes=200000-"),
                                      (f"/{DESCRIPTORS}", "bytes=550000-")]


def test_month_range_missing_month_and_rebuilt_tarball(mirror, tmp_path):
    server, files = mirror
    raw = tmp_path / "raw"
    # 2021-08 is not on the mirror: named as an error, the other months still arrive.
    run = make_download(server, raw, "2021-08:2021-10", "consensuses")
    assert run.returncode != 0
    assert f"{server.url}/archive/relay-descriptors/consensuses/consensuses-2021-08.tar.xz: not in CollecTor's index" in run.stderr
    assert (raw / "collector" / CONSENSUSES).read_bytes() == files[CONSENSUSES]
    assert (raw / "collector" / CONSENSUSES_OCT).read_bytes() == files[CONSENSUSES_OCT]

    # CollecTor rebuilt the October tarball (it grew): the stale copy is replaced.
    grown = files[CONSENSUSES_OCT] + tarball_bytes("more", 50_000)
    publish(server.root, {CONSENSUSES_OCT: grown}, listed={**files, CONSENSUSES_OCT: grown})
    server.requests.clear()
    refreshed = make_download(server, raw, "2021-10", "consensuses")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "changed     " + CONSENSUSES_OCT in refreshed.stdout
    assert (raw / "collector" / CONSENSUSES_OCT).read_bytes() == grown


def test_content_that_does_not_match_the_index_is_rejected(mirror, tmp_path):
    server, files = mirror
    raw = tmp_path / "raw"
    corrupted = bytearray(files[EXITS])
    corrupted[1000] ^= 0xFF
    (server.root / EXITS).write_bytes(bytes(corrupted))  # same size, other bytes than the index says
    run = make_download(server, raw, "2021-09", "exit-list")
    assert run.returncode != 0
    assert "sha256 differs" in run.stderr and f"{server.url}/{EXITS}" in run.stderr
    final = raw / "collector" / EXITS
    assert not final.exists() and not final.with_name(f".{final.name}.part").exists()


def test_mirror_without_index_verifies_content_length(mirror, tmp_path):
    server, files = mirror
    (server.root / "index" / "index.json.xz").unlink()
    raw = tmp_path / "raw"
    run = make_download(server, raw, "2021-09", "exit-list")
    assert run.returncode == 0, run.stderr
    assert "verifying sizes by Content-Length" in run.stderr
    assert (raw / "collector" / EXITS).read_bytes() == files[EXITS]


def test_bad_arguments_are_refused(tmp_path):
    for months, types, message in [("2021-13", "consensuses", "out of range"),
                                   ("2021-10:2021-09", "consensuses", "ends before it starts"),
                                   ("2021-09", "consensus", "unknown type 'consensus'")]:
        run = subprocess.run(["python3", "scripts/collector_download.py", "--months", months, "--types", types,
                              "--dest", str(tmp_path), "--url", "http://127.0.0.1:9"],
                             cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 2 and message in run.stderr, run.stderr
    missing = subprocess.run(["make", "-s", "download"], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode != 0 and "set MONTHS" in missing.stderr
