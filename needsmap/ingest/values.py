"""Which coded values of a file matched nothing: categories, statuses, channels, groups, urgency,
satisfaction. Each such value falls back to a default (``other``, ``received``, ``general``, 1,
none), so it is counted and shown, never lost in silence.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from needsmap import taxonomy
from needsmap.ingest import masking, parsing

# field → what an unmapped value becomes (for people).
FALLBACKS = {
    "category": "其他 other", "status": "已受理 received", "channel": "其他渠道 other", "requester_group": "一般居民 general",
    "urgency": "一般 1", "satisfaction": "空 blank",
}
_SATISFACTION = {taxonomy.normalize_text(word) for word in taxonomy.SATISFACTION_WORDS}


def _known(field: str, category_lookup: Mapping[str, str]):
    """A test: is this text (normalised) a value the field's table knows?"""
    tables = {"status": taxonomy.STATUS_ALIASES, "channel": taxonomy.CHANNEL_ALIASES,
              "requester_group": taxonomy.GROUP_ALIASES, "urgency": taxonomy.URGENCY_ALIASES}
    if field == "category":
        return lambda text: parsing.tree_lookup(text, category_lookup) is not None
    if field == "urgency":
        return lambda text: taxonomy.normalize_text(text) in tables["urgency"] or _is_number_in(text, 1, 4)
    if field == "satisfaction":
        return lambda text: taxonomy.normalize_text(text) in _SATISFACTION or _is_number_in(text, 1, 5)
    return lambda text: taxonomy.normalize_text(text) in tables[field]


def _is_number_in(text: str, low: int, high: int) -> bool:
    return parsing._number_in(text, low, high) is not None  # noqa: SLF001 — the parser's own rule


def unmapped_values(frame: pd.DataFrame, positions: np.ndarray,
                    category_lookup: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """field → {value text (masked, cut): rows} for the rows at ``positions`` whose text matched nothing.

    Blank cells and placeholders (无, -, /) are not counted. Values are masked as stored text is
    (the row's own name, numbers, a cell that is only a name) and ordered by rows, most first.
    """
    found: dict[str, dict[str, int]] = {}
    for field in FALLBACKS:
        if field not in frame.columns:
            continue
        # Judged once per distinct text (a million rows hold a few dozen statuses), counted by Arrow.
        column = pa.array(frame[field].iloc[positions], type=pa.large_string(), from_pandas=True)
        distinct = pc.unique(column.drop_null()).to_pylist()
        known = _known(field, category_lookup)
        unknown = [value for value in distinct
                   if (key := taxonomy.normalize_text(value)) and key not in taxonomy.NOTHING_SAID and not known(value)]
        if not unknown:
            continue
        is_unknown = pc.is_in(column, value_set=pa.array(unknown, type=pa.large_string())).fill_null(False)
        is_unknown = is_unknown.to_numpy(zero_copy_only=False)
        # Shown as stored: the row's own name and any number masked, cut; a bare name masked too.
        text = frame[field].iloc[positions][is_unknown].astype("str").str.strip()
        names = frame["name"].iloc[positions][is_unknown] if "name" in frame.columns else None
        shown = masking.clean_short_text(text, names=names,
                                         masked_names=None if names is None else masking.masked_names(names))
        counts = masking.mask_name_like_cells(shown).value_counts()
        found[field] = {str(label): int(count) for label, count in counts.items()}
    return found
