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


def save_header_aliases(db: Path, aliases: pd.DataFrame) -> int:
    """Replace the database's header aliases with ``aliases`` (header, field), best first.

    Blank rows are dropped, a header listed twice keeps its first row; an unknown field is
    refused with the allowed set named. Applies to later imports.
    """
    from needsmap.ingest import columns

    clean = aliases.dropna(how="all").copy()
    clean["header"] = clean["header"].astype(str).str.strip()
    clean["field"] = clean["field"].astype(str).str.strip()
    clean = clean[(clean["header"] != "") & (clean["header"] != "nan")]
    clean = clean[~clean["header"].map(columns.header_key).duplicated(keep="first")]
    unknown = sorted(set(clean["field"]) - set(columns.FIELDS))
    if unknown:
        raise NeedsmapError(error("alias_field_unknown", unknown=unknown, allowed=list(columns.FIELDS)))
    with store.writing(db) as con:
        store.seed_header_aliases(con)
        con.execute("DELETE FROM header_aliases")
        con.executemany("INSERT INTO header_aliases VALUES (?, ?, ?)",
                        [(position, header, field) for position, (header, field)
                         in enumerate(clean[["header", "field"]].itertuples(index=False), start=1)])
    return len(clean)


def assign_columns(db: Path, assignments: dict[str, str]) -> int:
    """Remember a person's answer to "which column is which" (field → the file's header) as
    header aliases ranked before all others, so the next file of the same shape imports as is."""
    from needsmap.ingest import columns

    unknown = sorted(set(assignments) - set(columns.FIELDS))
    if unknown:
        raise NeedsmapError(error("alias_field_unknown", unknown=unknown, allowed=list(columns.FIELDS)))
    chosen = [(header.strip(), field) for field, header in assignments.items() if header and header.strip()]
    with store.writing(db) as con:
        store.seed_header_aliases(con)
        keys = [columns.header_key(header) for header, _ in chosen]
        existing = con.execute("SELECT position, header FROM header_aliases").fetchall()
        stale = [position for position, header in existing if columns.header_key(header) in keys]
        if stale:
            con.execute("DELETE FROM header_aliases WHERE list_contains(?, position)", [stale])
        first = con.execute("SELECT coalesce(min(position), 1) FROM header_aliases").fetchall()[0][0]
        con.executemany("INSERT INTO header_aliases VALUES (?, ?, ?)",
                        [(first - len(chosen) + offset, header, field) for offset, (header, field) in enumerate(chosen)])
    return len(chosen)


def map_categories(db: Path, mapping: dict[str, str]) -> int:
    """Map category texts (as stored in ``source_category``) to category codes in one step: the
    mapping table gains (or changes) those rows, and records already imported as ``other`` with
    that text take the new category. Answers the number of records re-categorised."""
    allowed = {c.code for c in taxonomy.CATEGORIES}
    unknown = sorted(set(mapping.values()) - allowed)
    if unknown:
        raise NeedsmapError(error("mapping_unknown", unknown=unknown, allowed=sorted(allowed)))
    rows = [(text.strip(), code) for text, code in mapping.items() if text and text.strip()]
    if not rows:
        return 0
    with store.writing(db) as con:
        # Delete, then insert: a lake has no keys for INSERT OR REPLACE to go by.
        con.execute("DELETE FROM category_mapping WHERE list_contains(?, source_text)", [[text for text, _ in rows]])
        con.executemany("INSERT INTO category_mapping VALUES (?, ?)", rows)
        changed = 0
        for text, code in rows:
            changed += con.execute("UPDATE demands SET category = ? WHERE category = 'other' AND source_category = ?",
                                   [code, text]).fetchall()[0][0]
    return int(changed)
