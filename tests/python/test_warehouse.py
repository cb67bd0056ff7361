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


# The datasets of the other CollecTor types (extra-infos, votes, microdescriptors, bridge
# descriptors, bandwidth files), one real document or cropped tarball of each.
MORE_TYPES = [
    FIXTURES / "collector" / "relay-2016-10-02-08-05-00-extra-infos",
    FIXTURES / "metrics-lib" / "2017-07-17-17-00-00-vote-0232AF901C31A04EE9848595AF9BB7620D4C5B2E-6C2F5B0D52DFB3E4CA3DDEEAD690CC563CAF0601",
    FIXTURES / "stem" / "microdescs-2019-05-cropped.tar",
    FIXTURES / "stem" / "bridge-statuses-2019-05-cropped.tar",
    FIXTURES / "stem" / "bridge-server-descriptors-2019-02-cropped.tar",
    FIXTURES / "stem" / "bridge-extra-infos-2019-03-cropped.tar",
    FIXTURES / "stem" / "bandwidths-2019-05-cropped.tar",
    FIXTURES / "arti" / "testdata-live" / "consensus-microdesc",
] + [FIXTURES / "arti" / "testdata-live" / f"consensus-microdesc--desc--{n}" for n in ["Akka", "Ukko", "d2d4", "lisdex", "moria1"]]
MORE_DATASETS = [
    "extra_infos", "votes", "vote_entries", "microdesc_consensus_entries", "microdescriptors",
    "bridge_network_statuses", "bridge_status_entries", "bridge_server_descriptors",
    "bridge_extra_infos", "bandwidth_files", "bandwidth_file_entries",
]


@pytest.fixture(scope="module")
def more_warehouse(tmp_path_factory):
    binary = os.environ.get("RELAYTRAIL_BIN", str(ROOT / "target" / "release" / "relaytrail"))
    wh = tmp_path_factory.mktemp("wh-more")
    subprocess.run([binary, "import", *map(str, MORE_TYPES), "--warehouse", str(wh), "--quiet"], check=True)
    return wh


@pytest.mark.parametrize("dataset", MORE_DATASETS)
def test_every_new_dataset_loads_in_polars_and_pyarrow(more_warehouse, dataset):
    frame = scan(more_warehouse, dataset).collect()
    assert frame.height > 0
    assert {"year", "month"} <= set(frame.columns)
    table = ds.dataset(more_warehouse / dataset, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == frame.height


def test_new_datasets_join_and_count(more_warehouse):
    extra = scan(more_warehouse, "extra_infos").collect()
    extra_doc = MORE_TYPES[0].read_bytes()
    assert extra.height == count_lines(MORE_TYPES[0], b"extra-info ") == 9
    assert extra.schema["write_history"] == pl.List(pl.Int64)
    first = extra.filter(pl.col("nickname") == "grepular1").row(0, named=True)
    assert first["write_history_interval"] == 14400
    assert b"3286129664,4097942528" in extra_doc
    assert first["write_history"][:2] == [3286129664, 4097942528]
    votes = scan(more_warehouse, "vote_entries").collect()
    assert votes.height == count_lines(MORE_TYPES[1], b"r ")
    # The 2026 md consensus's m lines resolve to the five microdescriptors imported with it
    # (stem's cropped 2019 tarball keeps microdescriptors its consensus does not list).
    entries = scan(more_warehouse, "microdesc_consensus_entries")
    micro = scan(more_warehouse, "microdescriptors")
    joined = entries.join(micro, left_on="microdesc_digest", right_on="digest").collect()
    assert joined.height == 5
    assert sorted(joined["nickname"]) == ["Akka", "Ukko", "d2d4", "lisdex", "moria1"]
    assert micro.select(pl.len()).collect().item() == 3 + 5


def test_duckdb_reads_the_whole_history_out_of_core(warehouse, tmp_path):
    """scripts/history_duckdb.py: per month, consensus hours and relays, from the Hive
    partitions as they are, under a small memory limit with a spill folder."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("history_duckdb", ROOT / "scripts" / "history_duckdb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.history(warehouse, "256MB", tmp_path).pl().sort("month")
    assert rows["consensuses"].to_list() == [1, 1]
    assert rows["relays_per_consensus"].to_list() == [
        count_lines(CONSENSUS_2016, b"r "),
        count_lines(CONSENSUS_2017, b"r "),
    ]
    out = tmp_path / "history.parquet"
    assert module.main([str(warehouse), "--memory", "256MB", "--out", str(out)]) == 0
    assert pl.read_parquet(out).height == 2
