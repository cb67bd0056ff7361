"""The warehouse written by `relaytrail import` loads unchanged in Python polars and pyarrow
with Hive partitioning (acceptance point 3 of the importer issue).

The binary is given by RELAYTRAIL_BIN (the Makefile passes the release build)."""

import os
import pathlib
import subprocess

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "real"
CONSENSUS_2016 = FIXTURES / "collector" / "2016-09-20-13-00-00-consensus"
CONSENSUS_2017 = FIXTURES / "zoossh" / "2017-04-15-00-00-00-consensus"
DESCRIPTORS_2014 = FIXTURES / "zoossh" / "server-descriptors"
EXIT_LIST_2016 = FIXTURES / "collector" / "2016-09-20-13-02-00"


def count_lines(path, prefix):
    return sum(1 for line in path.read_bytes().split(b"\n") if line.startswith(prefix))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    binary = os.environ.get("RELAYTRAIL_BIN", str(ROOT / "target" / "release" / "relaytrail"))
    wh = tmp_path_factory.mktemp("wh")
    inputs = [CONSENSUS_2016, CONSENSUS_2017, DESCRIPTORS_2014, EXIT_LIST_2016]
    subprocess.run([binary, "import", *map(str, inputs), "--warehouse", str(wh), "--quiet"], check=True)
    return wh


def scan(wh, dataset):
    return pl.scan_parquet(wh / dataset / "**" / "*.parquet", hive_partitioning=True)


def test_polars_lazy_scan_with_hive_partitions(warehouse):
    entries = scan(warehouse, "consensus_entries")
    schema = entries.collect_schema()
    assert schema["valid_after"] == pl.Datetime("ms", "UTC")
    assert schema["flags"] == pl.List(pl.String)
    assert "year" in schema and "month" in schema
    total = entries.select(pl.len()).collect().item()
    assert total == count_lines(CONSENSUS_2016, b"r ") + count_lines(CONSENSUS_2017, b"r ")
    sept_2016 = entries.filter((pl.col("year") == 2016) & (pl.col("month") == 9)).select(pl.len()).collect().item()
    assert sept_2016 == count_lines(CONSENSUS_2016, b"r ") == 7213
    fps = entries.select(pl.col("fingerprint").str.len_chars().unique()).collect()
    assert fps.to_series().to_list() == [40]


def test_polars_reads_descriptors_and_exit_lists(warehouse):
    descriptors = scan(warehouse, "server_descriptors").collect()
    assert descriptors.height == count_lines(DESCRIPTORS_2014, b"router ") == 867
    assert descriptors.schema["family"] == pl.List(pl.String)
    assert descriptors["digest"].str.len_chars().unique().to_list() == [40]
    exits = scan(warehouse, "exit_lists").collect()
    assert exits.height == count_lines(EXIT_LIST_2016, b"ExitAddress ")


def test_pyarrow_dataset_with_hive_partitioning(warehouse):
    dataset = ds.dataset(warehouse / "consensuses", format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == 2
    assert table.schema.field("valid_after").type == pa.timestamp("ms", tz="UTC")
    relays = sorted(table.column("relays").to_pylist())
    assert relays == [7213, 7347]
    wgg = table.filter(ds.field("year") == 2016).column("Wgg").to_pylist()
    assert wgg == [5717]


def test_manifest_lists_every_input(warehouse):
    imports = pl.read_parquet(warehouse / "imports" / "part-0.parquet")
    assert imports.height == 4
    assert set(imports["status"]) == {"ok"}
    assert imports["sha256"].str.len_chars().unique().to_list() == [64]
