#!/usr/bin/env python3
"""Build ``data/zhejiang_townships.csv``: township (街道/镇/乡) name → today's district adcode.

Used offline by the importer to place a row whose address names a township but no district
(``needsmap.ingest.places``). Only names that occur once in Zhejiang are written: 东湖街道 is in
both 临平区 and 越城区, so an address naming only 东湖街道 stays unplaced rather than guessed.

Source: the location dictionary of the PyPI package ``jionlp`` 1.5.31 (Apache-2.0),
``jionlp/dictionary/china_location.zip`` (province / city / county / township / village, after
the 2021 Hangzhou changes), read as a file: jionlp itself is not imported (it pulls in a 148 MB
tokenizer) and is a build-time dependency only. Corrections (``CORRECTIONS``) fix what that
dictionary has wrong, each with its source. Units outside the 90 county-level units of the
bundled boundaries (温州经济技术开发区) are left out.

    pip install --no-deps jionlp==1.5.31      # build-time only
    python scripts/build_townships.py
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "data" / "zhejiang_townships.csv"
DISTRICTS = REPO_ROOT / "data" / "zhejiang_districts.geojson"
EXPECTED_JIONLP_VERSION = "1.5.31"
SUFFIXES = ("街道", "镇", "乡")
# name → (adcode, source): where the dictionary is wrong.
CORRECTIONS = {
    "乔司街道": ("330113", "杭州市人民政府公告 (2021-04-09): 临平区辖临平、东湖、南苑、星桥、乔司、运河、崇贤街道和塘栖镇"),
}


def _dictionary() -> str:
    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"jionlp is not installed: pip install --no-deps jionlp=={EXPECTED_JIONLP_VERSION}")
    root = Path(next(iter(spec.submodule_search_locations)))
    version = next((line.split(":", 1)[1].strip()
                    for dist in root.parent.glob("jionlp-*.dist-info")
                    for line in (dist / "METADATA").read_text("utf-8").splitlines() if line.startswith("Version:")), None)
    if version != EXPECTED_JIONLP_VERSION:
        raise SystemExit(f"jionlp {version} found; this build is pinned to {EXPECTED_JIONLP_VERSION}")
    with zipfile.ZipFile(root / "dictionary" / "china_location.zip") as archive:
        return archive.read("china_location.txt").decode("utf-8")


def townships(text: str, adcodes: set[str]) -> dict[str, set[str]]:
    """Township name → the adcodes of the Zhejiang counties that have a township of that name."""
    found: dict[str, set[str]] = defaultdict(set)
    in_zhejiang, county = False, None
    for line in io.StringIO(text):
        depth = len(line) - len(line.lstrip("\t"))
        fields = line.strip().split("\t")
        if depth == 0:
            in_zhejiang = fields[0] == "浙江省"
        elif in_zhejiang and depth == 2:
            county = fields[1] if len(fields) > 1 and fields[1] in adcodes else None
        elif in_zhejiang and depth == 3 and county and fields[0].endswith(SUFFIXES):
            found[fields[0]].add(county)
    return found


def main() -> int:
    adcodes = {f["properties"]["adcode"] for f in json.loads(DISTRICTS.read_text("utf-8"))["features"]}
    found = townships(_dictionary(), adcodes)
    for name, (adcode, _source) in CORRECTIONS.items():
        found[name] = {adcode}
    unique = sorted((name, next(iter(codes))) for name, codes in found.items() if len(codes) == 1)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["township", "adcode"])
        writer.writerows(unique)
    covered = len({code for _, code in unique})
    print(f"{OUT}: {len(unique)} townships in {covered} districts; {len(found) - len(unique)} names shared "
          f"by two or more districts left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
