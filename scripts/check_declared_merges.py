#!/usr/bin/env python3
"""Actors that hold relays declaring different shared contacts (a contact written by two or
more relays of the data) not tied together by mutual family: what the attribution must never
build ("two declared operators never merge on behaviour").
usage: check_declared_merges.py WAREHOUSE   (exit 1 when there is one)"""
import sys
import polars as pl

wh = sys.argv[1]
relays = pl.read_parquet(f"{wh}/relays/part-0.parquet")
members = pl.read_parquet(f"{wh}/actor_members/part-0.parquet").select("actor_id", "fingerprint")
if "contact" not in relays.columns:
    print("no descriptors: no contact declares anything")
    sys.exit(0)
norm = pl.col("contact").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
r = relays.select("fingerprint", norm.alias("contact"), "family").filter(pl.col("contact").is_not_null() & (pl.col("contact") != ""))
shared = r.group_by("contact").len().filter(pl.col("len") > 1)["contact"]
r = r.filter(pl.col("contact").is_in(shared.implode()))
# Placeholders identify nobody (the list of src/jobs/identity.rs, fragments and whole lines).
FRAGMENTS = ["nobody at example", "example dot com", "@example.com", "your-emailaddress-domain", "you@example", "<your email"]
WHOLE = {"none", "n/a", "na", "-", "--", "?", "unknown", "nobody", "anonymous", "anon", "no", "null", "contact", "email", "your email", "admin"}
r = r.filter(~pl.col("contact").is_in(list(WHOLE)) & ~pl.any_horizontal([pl.col("contact").str.contains(f, literal=True) for f in FRAGMENTS]))
fam = {row["fingerprint"]: {f.lstrip("$") for f in (row["family"] or [])} for row in r.iter_rows(named=True)}
contact_of = dict(zip(r["fingerprint"], r["contact"]))
bad = 0
checked = 0
for actor, group in members.group_by("actor_id"):
    fps = [f for f in group["fingerprint"] if f in contact_of]
    contacts = {contact_of[f] for f in fps}
    if len(contacts) < 2:
        continue
    checked += 1
    # contacts tied by a mutual family declaration between relays of different contacts
    parent = {c: c for c in contacts}
    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c
    for a in fps:
        for b in fam.get(a, ()):
            if b in contact_of and a in fam.get(b, set()) and contact_of[b] in parent:
                parent[find(contact_of[a])] = find(contact_of[b])
    roots = {find(c) for c in contacts}
    if len(roots) > 1:
        bad += 1
        print(f"{actor[0]}: {len(roots)} declared operators: {sorted(contacts)[:4]}")
print(f"{checked} actors hold several shared contacts; {bad} of them not tied by mutual family")
sys.exit(1 if bad else 0)
