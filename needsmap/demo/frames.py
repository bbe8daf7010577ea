"""The demo records chunk by chunk as data frames of codes (strings are composed in SQL)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from needsmap.demo.geography import _geography, _Grid
from needsmap.demo.lifecycle import _lifecycle
from needsmap.demo.model import _T
from needsmap.demo.people import _name_ids, _phone_numbers, _requester_columns
from needsmap.demo.rows import _concat_rows, _make_plan, _ordinary_rows, _take

def _to_timestamp(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds → datetime64[s]; -1 → NaT."""
    out = seconds.astype("datetime64[s]")
    out[seconds < 0] = np.datetime64("NaT")
    return out


def _chunk_frames(records: int, seed: int, grid: _Grid) -> Iterator[pd.DataFrame]:
    """The demo records, chunk by chunk, as frames of codes (strings are composed in SQL)."""
    geo = _geography()
    plan = _make_plan(records, seed, grid)
    for chunk in range(plan.chunks):
        rng = np.random.default_rng([seed, 0, chunk])
        ordinary = _ordinary_rows(rng, geo, plan, chunk)
        special = _take(plan.special, np.arange(plan.special_cut[chunk], plan.special_cut[chunk + 1]))
        rows = _concat_rows([ordinary, special])
        rows = _take(rows, np.argsort(rows["created_s"], kind="stable"))
        rows.update(_lifecycle(rng, geo, plan, rows))
        n = len(rows["created_s"])
        phone = np.where(rows["has_phone"], _phone_numbers(rows["person"], seed), 0)
        name_id = np.where(rows["has_phone"], _name_ids(rows["person"], seed), -1)
        yield pd.DataFrame({
            "seq": plan.seq_offset(chunk) + np.arange(1, n + 1, dtype=np.int64),
            "created_at": _to_timestamp(rows["created_s"]),
            "cat": _T["sub_category"][rows["sub"]],
            "sub": rows["sub"],
            "template": rows["template"],
            "is_repeat": rows["is_repeat"],
            "kind": rows["kind"],
            "lon": rows["lon"],
            "lat": rows["lat"],
            "district": rows["district"],
            "channel": rows["channel"],
            "urgency": rows["urgency"],
            "people_affected": rows["people"],
            "status": rows["status"],
            "responded_at": _to_timestamp(rows["responded_s"]),
            "resolved_at": _to_timestamp(rows["resolved_s"]),
            "feedback_at": _to_timestamp(rows["feedback_s"]),
            "satisfaction": rows["satisfaction"],
            "grp": rows["grp"],
            "phone": phone.astype(np.int64),
            "name_id": name_id.astype(np.int32),
            **{c: rows[c] for c in ("s1", "s2", "s3", "s4", "place_kind", "house_no", "n_idx")},
        })

def _database_frames(records: int, seed: int, grid: _Grid, key: bytes) -> Iterator[pd.DataFrame]:
    """The chunk frames with the columns only the database gets: requester hash and masks."""
    for frame in _chunk_frames(records, seed, grid):
        frame["requester_hash"], frame["requester_phone_masked"] = _requester_columns(frame, key)
        yield frame
