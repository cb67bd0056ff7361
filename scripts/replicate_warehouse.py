#!/usr/bin/env python3
"""Make a years-long benchmark warehouse out of an imported one (`make bench-scale`): the base
warehouse followed by N copies of itself, copy k shifted in time by k whole spans and given
new identities, so that to the jobs and the attribution each copy is a new network (new
relays, new operators) doing what the base did.

    replicate_warehouse.py --base BASE --out OUT --copies N [--link-from PREV]
                           [--asn-tsv ip2asn-v4.tsv] [--seam-gap-hours H]

What a copy changes (deterministically, from k and the old value):

* times: every timestamp column + k x span, where span is the base's consensus span rounded
  up to whole days (a half year from January: 181 days), so copies follow one another
  without overlap and consensus hours stay on the hour;
* fingerprints (40 upper-case hex): SHA-1 of "k:<old>", upper case, wherever they appear:
  `fingerprint` of consensus_entries and server_descriptors, and the `$HEX` (`$HEX~nick`)
  members of `family` (nicknames in `family` are kept);
* IPv4 addresses: the first octet goes through a per-copy bijection of the public first
  octets (1..223 without 10 and 127, rotated by 7k places; no octet maps to itself), the
  other three octets stay: /8, /16 and /24 structure is kept inside a copy, and no address
  of a copy is an address of the base or of another copy;
* IPv6 addresses (`ipv6_addresses`, `ipv6_or_addresses`): the first 32 bits go to a
  per-copy hash of them (in 2000::/3), the rest stays: /32 and /48 structure is kept;
* `ed25519_master_key`: the first 43 base64 characters of SHA-256("k:<old>") (unpadded, like
  the originals), so the same key in a copy is still shared by the same relays;
* `contact`: " copy<k>" appended, unless blank or a placeholder (`none`, torrc's
  `Random Person <nobody AT example dot com>`, ...; the list of src/jobs/identity.rs);
* with --seam-gap-hours H: the copy's first H consensus hours are left out (consensuses and
  consensus_entries; descriptors are all kept), so the seam is H + 1 hours between two
  consensuses. H >= 6 makes it a gap of the data (more than the jobs' `max_gap_hours`, 6 by
  default): sessions end at the gap and nothing is counted across it.
  With H = 0 the copies are contiguous: at each seam every relay of one copy leaves and every
  relay of the next joins, one hour apart.

Kept: nicknames, versions, platforms, flags, bandwidths, ports, exit policies (their
single-address `reject <own address>` rules too), digests, uptimes, source_file/member.
With --asn-tsv, OUT/asn/ gets one iptoasn TSV per copy (the base's ranges moved like the
addresses, so every copy keeps the base's ASes) and OUT/asn/snapshots.txt lists them as
`asn/FILE@YYYY-MM-DD`, relative to OUT (dated so that each copy's hours resolve with its own
snapshot, latest copy first so that a tie at a seam goes to the copy that starts there): pass
each line as `relaytrail jobs --asn-db`.

Datasets: consensuses, consensus_entries and server_descriptors are copied (what the jobs
and the attribution read); imports and import_errors (the report's provenance) and any
watchlists are the base's; a base with microdesc_consensus_entries is refused (not copied).
Every file is hard-linked from BASE (or from PREV, a smaller replica of the same base with the
same settings, whose copies are reused: a 10-year replica built from the 5-year one
writes only the new copies) and a partition that gains rows is written anew to a hidden
temporary file and renamed over the link, so BASE and PREV never change. Hive partition
folders are the year/month of the shifted times; a month that two copies share (copies do
not start on the 1st) is one file, sorted by the dataset's key. Memory: one target month of
rows and its sorted copy (about 1.4 GB for a month of 1500 relays; a month of 7000 relays,
5.9 M consensus entries, needs about 4.6 times that). OUT must not exist; it is complete when
OUT/_replica.json exists (OUT is first written as a hidden folder beside it, then renamed).
"""

import argparse
import base64
import hashlib
import ipaddress
import json
import math
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

ROW_GROUP = 128 * 1024  # rows, as relaytrail writes them
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# dataset -> (time column deciding the partition, sort key)
DATASETS = {
    "consensuses": ("valid_after", ["valid_after", "flavor"]),
    "consensus_entries": ("valid_after", ["fingerprint", "valid_after"]),
    "server_descriptors": ("published", ["fingerprint", "published", "digest"]),
}
# Linked from the base as they are: the report's provenance tables, and watchlists (which
# name relays of the base only).
KEPT = ["imports", "import_errors", "watchlists", "watchlist_notes"]
# Read by the jobs but not copied: refuse a base that has them.
NOT_COPIED = ["microdesc_consensus_entries"]

# src/jobs/identity.rs: contacts that identify nobody, compared after normalisation.
PLACEHOLDERS = {
    "none", "n/a", "na", "-", "--", "?", "unknown", "nobody", "anonymous", "anon", "no",
    "null", "contact", "email", "your email", "admin",
}
PLACEHOLDER_FRAGMENTS = (
    "nobody at example", "example dot com", "@example.com", "your-emailaddress-domain",
    "you@example", "<your email",
)

# Public first octets, in order; copy k rotates them by 7k places (7 is prime to 221).
OCTETS = [o for o in range(1, 224) if o not in (10, 127)]
OCTET_INDEX = {o: i for i, o in enumerate(OCTETS)}
HEX = set("0123456789ABCDEFabcdef")


def octet_map(k: int) -> dict:
    step = (7 * k) % len(OCTETS)
    if step == 0:
        raise SystemExit(f"copy {k}: the octet rotation comes back to the identity")
    return {o: OCTETS[(i + step) % len(OCTETS)] for o, i in OCTET_INDEX.items()}


class Copy:
    """The value mappings of copy k."""

    def __init__(self, k: int):
        self.k = k
        self.octets = octet_map(k)
        self.unmapped_ipv4 = 0

    def fingerprint(self, fp: str) -> str:
        return hashlib.sha1(f"{self.k}:{fp}".encode()).hexdigest().upper()

    def family_member(self, member: str) -> str:
        # `$HEX`, or `$HEX=nick` / `$HEX~nick` as written by older importers; else a nickname.
        if member.startswith("$") and len(member) >= 41 and set(member[1:41]) <= HEX:
            return "$" + self.fingerprint(member[1:41].upper()) + member[41:]
        return member

    def ipv4(self, address: str) -> str:
        parts = address.split(".")
        if len(parts) == 4 and parts[0].isdigit() and int(parts[0]) in self.octets:
            return ".".join([str(self.octets[int(parts[0])])] + parts[1:])
        self.unmapped_ipv4 += 1
        return address

    def ipv6(self, value: str) -> str:
        # `[2001:db8::1]:443` (or a bare address).
        text, port = value, None
        if value.startswith("["):
            end = value.find("]")
            if end < 0:
                return value
            text, port = value[1:end], value[end + 1:]
        try:
            address = int(ipaddress.IPv6Address(text))
        except ValueError:
            return value
        top = address >> 96
        digest = hashlib.sha1(f"{self.k}:{top:08x}".encode()).digest()
        new_top = 0x20000000 | (int.from_bytes(digest[:4], "big") & 0x1FFFFFFF)
        if new_top == top:
            new_top ^= 1
        new = str(ipaddress.IPv6Address((new_top << 96) | (address & ((1 << 96) - 1))))
        return f"[{new}]{port}" if port is not None else new

    def ed25519(self, key: str) -> str:
        digest = hashlib.sha256(f"{self.k}:{key}".encode()).digest()
        return base64.b64encode(digest).decode().rstrip("=")[: len(key.rstrip("="))]

    def contact(self, contact: str) -> str:
        normalised = " ".join(contact.split()).lower()
        if not normalised or normalised in PLACEHOLDERS or any(f in normalised for f in PLACEHOLDER_FRAGMENTS):
            return contact
        return f"{contact} copy{self.k}"


def remap(source: Path, schema, column: str, fn) -> pl.Expr:
    """`column` with every distinct non-null value (or list element) v replaced by fn(v)."""
    values = pl.col(column).explode() if isinstance(schema[column], pl.List) else pl.col(column)
    old = (pl.scan_parquet(source, hive_partitioning=False).select(values.drop_nulls().unique())
           .collect().get_column(column).to_list())
    if not old:
        return pl.col(column)
    new = [fn(v) for v in old]
    if isinstance(schema[column], pl.List):
        return pl.col(column).list.eval(pl.element().replace(old, new))
    return pl.col(column).replace(old, new)


def transform(source: Path, copy: Copy, shift: timedelta):
    """A function of a filter on the base rows giving those rows of one base partition file
    as copy k (lazy; the filter is applied before the mapping)."""
    frame = pl.scan_parquet(source, hive_partitioning=False)
    schema = frame.collect_schema()
    exprs = [pl.col(name) + shift for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
    mappers = {
        "fingerprint": copy.fingerprint,
        "address": copy.ipv4,
        "ipv6_addresses": copy.ipv6,
        "ipv6_or_addresses": copy.ipv6,
        "family": copy.family_member,
        "ed25519_master_key": copy.ed25519,
        "contact": copy.contact,
    }
    exprs += [remap(source, schema, name, fn) for name, fn in mappers.items() if name in schema]
    return lambda keep: frame.filter(keep).with_columns(exprs)


def partition_files(warehouse: Path, dataset: str):
    """(year, month, path) of every part-0.parquet of a monthly dataset, in time order."""
    found = []
    for path in (warehouse / dataset).glob("year=*/month=*/part-0.parquet"):
        found.append((int(path.parent.parent.name[5:]), int(path.parent.name[6:]), path))
    return sorted(found)


def write_sorted(frame: pl.DataFrame, sort_key, path: Path) -> None:
    frame.sort(sort_key, maintain_order=True).write_parquet(
        path, compression="zstd", compression_level=3, row_group_size=ROW_GROUP, statistics=True)


def write_partition(out: Path, dataset: str, key, rows: pl.DataFrame, sort_key) -> None:
    """Adds rows to one partition of OUT (merged with what it holds, sorted by the key),
    written to a hidden temporary file and renamed over the old one (or its hard link)."""
    path = out / dataset / f"year={key[0]}" / f"month={key[1]:02d}" / "part-0.parquet"
    if path.exists():
        existing = pl.read_parquet(path, hive_partitioning=False)
        rows = pl.concat([existing, rows.select(existing.columns)], how="vertical", rechunk=False)
        del existing
        if dataset == "consensuses" and rows.select(sort_key).is_duplicated().any():
            raise SystemExit(f"{path}: copies overlap (two consensuses of one hour)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        write_sorted(rows, sort_key, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)  # replaces a hard link, never writes into it
    finally:
        if tmp.exists():
            tmp.unlink()


def next_month(y: int, m: int):
    return (y + 1, 1) if m == 12 else (y, m + 1)


def copy_dataset(base: Path, out: Path, dataset: str, copy: Copy, shift: timedelta, drop_before) -> int:
    """Writes copy k of one dataset, one target month at a time: the rows of the one to three
    base partition files that land in it (each file is read once per target month it
    reaches), merged with what the partition already holds (the previous copy's end)."""
    time_column, sort_key = DATASETS[dataset]
    sources = []  # (first target month, last target month, base file)
    for y, m, path in partition_files(base, dataset):
        first = datetime(y, m, 1, tzinfo=timezone.utc) + shift
        last = datetime(*next_month(y, m), 1, tzinfo=timezone.utc) + shift - timedelta(milliseconds=1)
        sources.append(((first.year, first.month), (last.year, last.month), path))
    if not sources:
        return 0
    plans = {}
    rows = 0
    target = sources[0][0]
    while target <= sources[-1][1]:
        # The base rows that land in the target month, selected before they are mapped.
        lo = datetime(*target, 1, tzinfo=timezone.utc) - shift
        hi = datetime(*next_month(*target), 1, tzinfo=timezone.utc) - shift
        if drop_before is not None and dataset != "server_descriptors":
            lo = max(lo, drop_before - shift)
        keep = (pl.col(time_column) >= lo) & (pl.col(time_column) < hi)
        pieces = []
        for first, last, path in sources:
            if first <= target <= last:
                if path not in plans:
                    plans[path] = transform(path, copy, shift)
                piece = plans[path](keep).collect()
                if piece.height:
                    pieces.append(piece)
            elif last < target:
                plans.pop(path, None)
        if pieces:
            frame = pl.concat(pieces, how="vertical", rechunk=False)
            del pieces
            rows += frame.height
            write_partition(out, dataset, target, frame, sort_key)
            del frame
        target = next_month(*target)
    return rows


def base_span(base: Path):
    """(first day at midnight, span in whole days) of the base's consensuses."""
    frames = [pl.read_parquet(p, columns=["valid_after"], hive_partitioning=False)
              for _, _, p in partition_files(base, "consensuses")]
    if not frames:
        raise SystemExit(f"{base}: no consensuses")
    times = pl.concat(frames).get_column("valid_after")
    first, last = times.min(), times.max()
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, math.ceil((last + HOUR - start) / DAY)


def link_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, copy_function=os.link,
                    ignore=shutil.ignore_patterns(".*.tmp-*", ".lock"))


def asn_snapshots(tsv: Path, out: Path, copies: int, start: datetime, span_days: int):
    """One iptoasn TSV per copy (ranges moved like the addresses) and their dated list."""
    lines = [line.rstrip("\n").split("\t") for line in tsv.read_text().splitlines() if line.strip()]
    folder = out / "asn"
    folder.mkdir(parents=True, exist_ok=True)
    specs = []
    first_date = span_days // 2
    for k in range(copies + 1):
        # Snapshot dates d_k with (d_k + d_{k+1}) / 2 = the seam between copies k and k+1, so
        # each hour resolves with its own copy's snapshot (midpoints when the span is even).
        offset = first_date if k % 2 == 0 else span_days - first_date
        date = start + timedelta(days=k * span_days + offset)
        path = folder / (tsv.name if k == 0 else f"{tsv.stem}-copy{k}{tsv.suffix}")
        if k == 0:
            shutil.copyfile(tsv, path)
        else:
            octets = octet_map(k)
            ranges = []
            for fields in lines:
                lo, hi = int(ipaddress.IPv4Address(fields[0])), int(ipaddress.IPv4Address(fields[1]))
                # Split at /8 boundaries, move each piece's first octet.
                while lo <= hi:
                    piece_hi = min(hi, lo | 0xFFFFFF)
                    o = lo >> 24
                    delta = ((octets[o] - o) << 24) if o in octets else 0
                    ranges.append((lo + delta, piece_hi + delta, fields[2:]))
                    lo = piece_hi + 1
            ranges.sort(key=lambda r: r[0])
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text("".join(
                "\t".join([str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))] + rest) + "\n"
                for a, b, rest in ranges))
            os.replace(tmp, path)
        specs.append(f"asn/{path.name}@{date:%Y-%m-%d}")
    (folder / "snapshots.txt").write_text("".join(s + "\n" for s in reversed(specs)))
    return specs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the imported base warehouse")
    parser.add_argument("--out", type=Path, required=True, help="the replica to create (must not exist)")
    parser.add_argument("--copies", type=int, required=True, help="copies after the base")
    parser.add_argument("--link-from", type=Path, help="a smaller replica of the same base to extend")
    parser.add_argument("--asn-tsv", type=Path, help="the base's iptoasn TSV (per-copy snapshots)")
    parser.add_argument("--seam-gap-hours", type=int, default=0,
                        help="leave out each copy's first H consensus hours (H >= 6: a gap at each seam)")
    args = parser.parse_args(argv)
    base, out = args.base.resolve(), args.out
    if out.exists():
        raise SystemExit(f"{out} exists")
    for name in NOT_COPIED:
        if (base / name).exists():
            raise SystemExit(f"{base}: has {name}, which this script does not copy")
    start, span_days = base_span(base)
    settings = {"base": str(base), "start": start.isoformat(), "span_days": span_days,
                "seam_gap_hours": args.seam_gap_hours}

    tmp_out = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    done = 0
    if args.link_from:
        prev = json.loads((args.link_from / "_replica.json").read_text())
        if {k: prev[k] for k in settings} != settings:
            raise SystemExit(f"{args.link_from}: made from another base or with other settings")
        done = prev["copies"]
        if done > args.copies:
            raise SystemExit(f"{args.link_from} has more copies ({done}) than asked ({args.copies})")
        source = args.link_from
    else:
        source = base
    tmp_out.mkdir(parents=True)
    for name in list(DATASETS) + KEPT:
        if (source / name).exists():
            link_tree(source / name, tmp_out / name)

    for k in range(done + 1, args.copies + 1):
        copy = Copy(k)
        shift = timedelta(days=k * span_days)
        drop_before = start + shift + timedelta(hours=args.seam_gap_hours) if args.seam_gap_hours else None
        counts = {ds: copy_dataset(base, tmp_out, ds, copy, shift, drop_before) for ds in DATASETS}
        print(f"copy {k}: +{k * span_days} days from {(start + shift):%Y-%m-%d}, "
              + ", ".join(f"{n} {ds}" for ds, n in counts.items())
              + (f" ({copy.unmapped_ipv4} addresses outside the mapped octets kept)" if copy.unmapped_ipv4 else ""),
              file=sys.stderr, flush=True)

    snapshots = asn_snapshots(args.asn_tsv, tmp_out, args.copies, start, span_days) if args.asn_tsv else []
    settings.update(copies=args.copies, asn_snapshots=snapshots,
                    end=(start + timedelta(days=(args.copies + 1) * span_days)).isoformat())
    (tmp_out / "_replica.json").write_text(json.dumps(settings, indent=1) + "\n")
    os.replace(tmp_out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
