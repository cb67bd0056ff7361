"""AS enrichment of the jobs from a MaxMind-format .mmdb made here with mmdb-writer (the
format of GeoLite2-ASN and DB-IP ASN), including the choice between two dated snapshots.

The binary is given by RELAYTRAIL_BIN (the Makefile passes the release build)."""

import os
import pathlib
import subprocess

import polars as pl
from mmdb_writer import MMDBWriter, MmdbU32
from netaddr import IPSet

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONSENSUS_2016 = ROOT / "tests" / "fixtures" / "real" / "collector" / "2016-09-20-13-00-00-consensus"
BINARY = os.environ.get("RELAYTRAIL_BIN", str(ROOT / "target" / "release" / "relaytrail"))


def relays_in_document(count):
    """(fingerprint-independent) addresses of the first `count` r lines, as written."""
    addresses = []
    for line in CONSENSUS_2016.read_text().splitlines():
        if line.startswith("r "):
            addresses.append(line.split(" ")[6])
            if len(addresses) == count:
                break
    return addresses


def write_mmdb(path, networks):
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-ASN", description="relaytrail test")
    for cidr, (asn, name) in networks.items():
        writer.insert_network(
            IPSet([cidr]),
            {"autonomous_system_number": MmdbU32(asn), "autonomous_system_organization": name},
        )
    writer.to_db_file(str(path))


def test_relays_get_as_number_and_name_from_a_dated_mmdb(tmp_path):
    wh = tmp_path / "wh"
    subprocess.run([BINARY, "import", str(CONSENSUS_2016), "--warehouse", str(wh), "--quiet"], check=True)
    first, second, third = relays_in_document(3)
    # Two snapshots: the one dated nearest the consensus (2016-09-20) must win.
    near = tmp_path / "asn-near.mmdb"
    far = tmp_path / "asn-far.mmdb"
    write_mmdb(near, {f"{first}/32": (64500, "NEAR-NET"), f"{second}/32": (64501, "OTHER-NET")})
    write_mmdb(far, {f"{first}/32": (64999, "FAR-NET")})
    subprocess.run(
        [BINARY, "jobs", "lifetimes", "--quiet", "--warehouse", str(wh),
         "--asn-db", f"{near}@2016-09-01", "--asn-db", f"{far}@2018-01-01"],
        check=True,
    )
    relays = pl.read_parquet(wh / "relays" / "part-0.parquet")
    by_address = {row["address"]: row for row in relays.iter_rows(named=True)}
    assert by_address[first]["as_number"] == 64500
    assert by_address[first]["as_name"] == "NEAR-NET"
    assert by_address[first]["asns"] == [64500]
    assert by_address[second]["as_number"] == 64501
    assert by_address[third]["as_number"] is None
    assert relays["as_number"].is_not_null().sum() == 2

    # The same with only the far snapshot: its answer is used.
    subprocess.run(
        [BINARY, "jobs", "lifetimes", "--quiet", "--warehouse", str(wh), "--asn-db", f"{far}@2018-01-01"],
        check=True,
    )
    relays = pl.read_parquet(wh / "relays" / "part-0.parquet")
    assert relays.filter(pl.col("address") == first)["as_number"].to_list() == [64999]


def test_a_broken_asn_file_is_a_clear_error(tmp_path):
    wh = tmp_path / "wh"
    subprocess.run([BINARY, "import", str(CONSENSUS_2016), "--warehouse", str(wh), "--quiet"], check=True)
    bad = tmp_path / "ip2asn-v4.tsv"
    bad.write_text("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.1.x\t7\tUS\tX\n")
    result = subprocess.run(
        [BINARY, "jobs", "--quiet", "--warehouse", str(wh), "--asn-db", str(bad)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "ip2asn-v4.tsv: line 2" in result.stderr
