"""Demo facilities: a plausible synthetic supply for the demo records. DEMO DATA, not a real list.

Per district and facility type, the count follows the residents (``PER_100K``), times 1.4 in
urban districts and 0.6 in rural (mountain) counties; points are drawn where the demo's records
are drawn (``geography._district_points``: around the county seat and the city centre, thinner
over the whole district), so supply is denser in cities. Some districts are deliberately short
of one type (``SHORT_OF``: one in eight districts keeps a tenth of its share of that type), so the
supply page has gaps to find. Every row has ``source = 'demo'`` and a name that says 演示
(demo); ids start with ``DEMO-``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from needsmap import schema
from needsmap.demo.geography import _district_points, _geography

# facility type → (category, facilities per 100,000 residents, capacity range or None if unknown)
FACILITY_TYPES: dict[str, tuple[str, float, tuple[int, int] | None]] = {
    "居家养老服务中心": ("elderly_care", 4.0, (20, 80)),
    "养老院": ("elderly_care", 1.0, (60, 400)),
    "社区卫生服务站": ("healthcare", 4.0, (5, 30)),
    "卫生院": ("healthcare", 1.0, (20, 120)),
    "幼儿园": ("education", 4.0, (180, 540)),
    "小学": ("education", 2.0, (600, 2400)),
    "公交站": ("transit", 10.0, None),
    "公厕": ("sanitation", 4.0, None),
    "垃圾中转站": ("sanitation", 1.0, None),
}
URBAN_FACTOR, RURAL_FACTOR = 1.4, 0.6
SHORT_SHARE = 0.1
DEMO_SOURCE = "demo"


def short_of(adcodes: list[str], seed: int) -> dict[str, str]:
    """District adcode → the category it is deliberately short of (one in eight districts)."""
    rng = np.random.default_rng([seed, 15])
    categories = sorted({category for category, _, _ in FACILITY_TYPES.values()})
    picked = rng.choice(len(adcodes), size=max(1, len(adcodes) // 8), replace=False)
    return {adcodes[i]: categories[int(rng.integers(len(categories)))] for i in sorted(picked)}


def demo_facilities(seed: int = 2025, scale: float = 1.0) -> pd.DataFrame:
    """The demo facility list (``schema.FACILITY_COLUMNS``); ``scale`` multiplies every count."""
    geo = _geography()
    rng = np.random.default_rng([seed, 50180])
    short = short_of(geo.adcodes, seed)
    frames = []
    for district, adcode in enumerate(geo.adcodes):
        factor = RURAL_FACTOR if geo.rural[district] else URBAN_FACTOR
        for type_number, (facility_type, (category, per_100k, capacity_range)) in enumerate(FACILITY_TYPES.items()):
            expected = geo.population[district] / 100_000 * per_100k * factor * scale
            if short.get(adcode) == category:
                expected *= SHORT_SHARE
            n = int(rng.poisson(expected))
            if n == 0:
                continue
            lon, lat = _district_points(rng, geo, district, n)
            capacity = (rng.integers(capacity_range[0], capacity_range[1] + 1, n).astype("float64")
                        if capacity_range else np.full(n, np.nan))
            frames.append(pd.DataFrame({
                "facility_id": [f"DEMO-{adcode}-{type_number}-{i:04d}" for i in range(n)],
                "name": [f"演示{geo.names[district]}{facility_type}{i + 1}号 (demo)" for i in range(n)],
                "facility_type": facility_type, "category": category, "capacity": capacity,
                "opened_on": pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 5_000, n), unit="D"),
                "lon": lon, "lat": lat, "district_adcode": adcode, "address": None,
                "source": DEMO_SOURCE, "batch_id": 0,
            }))
    frame = pd.concat(frames, ignore_index=True)
    frame["opened_on"] = frame["opened_on"].dt.date
    frame["batch_id"] = frame["batch_id"].astype("int32")
    return frame[list(schema.FACILITY_COLUMN_NAMES)]


def write_demo_facilities(con: object, seed: int = 2025, scale: float = 1.0) -> int:
    """Replace the demo facilities in an open writing connection; returns how many were written."""
    import pyarrow as pa

    from needsmap import store

    store.seed_facility_types(con)
    frame = demo_facilities(seed, scale)
    con.execute("DELETE FROM facilities WHERE source = $source", {"source": DEMO_SOURCE})
    con.register("demo_facilities", pa.Table.from_pandas(frame, preserve_index=False))
    con.execute("INSERT INTO facilities SELECT * FROM demo_facilities")
    con.unregister("demo_facilities")
    return len(frame)
