"""Small staff writes besides imports: the editable category mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from needsmap import store, taxonomy
from needsmap.errors import NeedsmapError
from needsmap.i18n import error


def save_category_mapping(db: Path, mapping: pd.DataFrame) -> int:
    """Replace the database's category mapping with ``mapping`` (source_text, category).

    Blank rows are dropped; an unknown category code is refused with the allowed set named.
    Applies to later imports (records already imported keep their category).
    """
    clean = mapping.dropna(how="all").copy()
    clean["source_text"] = clean["source_text"].astype(str).str.strip()
    clean["category"] = clean["category"].astype(str).str.strip()
    clean = clean[clean["source_text"] != ""].drop_duplicates("source_text", keep="last")
    allowed = taxonomy.CATEGORY_CODES
    unknown = sorted(set(clean["category"]) - allowed)
    if unknown:
        raise NeedsmapError(error("mapping_unknown", unknown=unknown, allowed=sorted(allowed)))
    with store.writing(db) as con:
        con.execute("DELETE FROM category_mapping")
        con.executemany("INSERT INTO category_mapping VALUES (?, ?)", clean[["source_text", "category"]].values.tolist())
    return len(clean)
