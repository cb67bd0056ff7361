#!/usr/bin/env python3
"""Extend a benchmark warehouse in time: append a copy of its consensus, descriptor and
consensus-entry months shifted by whole days, after the last month (`make bench`'s year).

    shift_warehouse.py <warehouse> <days>

Month `year=Y/month=M` becomes the folder `days` later (folder names only label partitions;
the jobs read times from the rows). The copy has the same relays, so sessions run on across
the seam; it measures how time and memory scale with the number of months, nothing else.
"""
import sys
from pathlib import Path

import polars as pl


def main() -> int:
    warehouse, days = Path(sys.argv[1]), int(sys.argv[2])
    shift = pl.duration(days=days)
    for dataset in ("consensuses", "consensus_entries", "server_descriptors"):
        for part in sorted((warehouse / dataset).glob("year=*/month=*/*.parquet")):
            frame = pl.read_parquet(part, hive_partitioning=False)
            times = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)]
            frame = frame.with_columns(pl.col(name) + shift for name in times)
            first = frame.get_column(times[0]).min()
            out = warehouse / dataset / f"year={first.year}" / f"month={first.month:02d}" / part.name
            if out.exists():
                raise SystemExit(f"{out} exists: shift by more days than the warehouse spans")
            out.parent.mkdir(parents=True)
            frame.write_parquet(out, compression="zstd")
    return 0


if __name__ == "__main__":
    sys.exit(main())
