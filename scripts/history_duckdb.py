#!/usr/bin/env python3
"""A whole-history query over a relaytrail warehouse with DuckDB: the out-of-core path when a
query over years of `consensus_entries` does not fit in polars' memory.

DuckDB reads the Hive-partitioned Parquet as it is (no import), streams it with a memory limit
and spills to a temporary folder when it must. This script answers, for every month of the
warehouse: how many consensus hours, relays (mean per consensus), distinct relays, and the
share of entries without contact information (when `relays` exists, from `relaytrail jobs`),
and writes the table as Parquet or prints it. Hours without an ns consensus use the microdesc
consensus' entries, as the jobs do.

    python3 scripts/history_duckdb.py data/warehouse --memory 2GB --out history.parquet
"""

import argparse
import pathlib
import sys
import tempfile

import duckdb

QUERY = """
WITH ns AS (
    SELECT fingerprint, valid_after FROM read_parquet('{entries}', hive_partitioning = true)
),
entries AS (
    SELECT * FROM ns{microdesc}
)
SELECT date_trunc('month', e.valid_after) AS month,
       count(DISTINCT e.valid_after) AS consensuses,
       count(*) / count(DISTINCT e.valid_after) AS relays_per_consensus,
       count(DISTINCT e.fingerprint) AS distinct_relays{contact_column}
FROM entries e{contact_join}
GROUP BY ALL
ORDER BY month
"""


def history(warehouse: pathlib.Path, memory: str, spill: pathlib.Path) -> "duckdb.DuckDBPyRelation":
    entries = warehouse / "consensus_entries"
    if not entries.is_dir():
        raise SystemExit(f"{warehouse}: no consensus_entries (run `relaytrail import` first)")
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute(f"SET temp_directory = '{spill.as_posix()}'")
    con.execute("SET preserve_insertion_order = false")
    # The flavour rule of the jobs: microdesc entries for the hours without an ns consensus.
    microdesc = ""
    md = warehouse / "microdesc_consensus_entries"
    if md.is_dir():
        microdesc = (
            "\n    UNION ALL\n    SELECT fingerprint, valid_after FROM read_parquet("
            f"'{(md / '**' / '*.parquet').as_posix()}', hive_partitioning = true)\n"
            "    WHERE valid_after NOT IN (SELECT DISTINCT valid_after FROM ns)"
        )
    relays = warehouse / "relays" / "part-0.parquet"
    contact_column, contact_join = "", ""
    if relays.is_file():
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{relays.as_posix()}')").fetchall()]
        if "has_contact" in names:
            # Among the entries of relays whose descriptors were imported.
            contact_column = (
                ",\n       avg(CASE WHEN r.last_descriptor_published IS NULL THEN NULL"
                " WHEN r.has_contact THEN 0.0 ELSE 1.0 END) AS contactless_share"
            )
            contact_join = f"\nLEFT JOIN read_parquet('{relays.as_posix()}') r USING (fingerprint)"
    sql = QUERY.format(
        entries=(entries / "**" / "*.parquet").as_posix(),
        microdesc=microdesc,
        contact_column=contact_column,
        contact_join=contact_join,
    )
    return con.sql(sql)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=pathlib.Path)
    parser.add_argument("--memory", default="2GB", help="DuckDB memory_limit (default 2GB)")
    parser.add_argument("--spill", type=pathlib.Path, help="folder for spilled data (default: a temporary one)")
    parser.add_argument("--out", type=pathlib.Path, help="write the table here as Parquet (default: print it)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        table = history(args.warehouse, args.memory, args.spill or pathlib.Path(tmp))
        if args.out:
            table.write_parquet(str(args.out))
            print(f"{args.out}: {len(table.fetchall())} months", file=sys.stderr)
        else:
            print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
