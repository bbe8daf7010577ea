"""The demo's synthetic facilities: labelled as demo, inside their districts, denser in cities,
and short of one type where the generator says so."""

from __future__ import annotations


from needsmap import boundaries
from needsmap.demo.facilities import demo_facilities, short_of


def test_demo_facilities_are_labelled_placed_and_plausible():
    facilities = demo_facilities(seed=2025)
    assert facilities["facility_id"].is_unique
    assert (facilities["source"] == "demo").all()
    assert facilities["name"].str.contains("演示").all() and facilities["name"].str.endswith("(demo)").all()
    placed = boundaries.assign_districts(facilities["lon"].to_numpy(), facilities["lat"].to_numpy())
    assert (placed == facilities["district_adcode"].to_numpy()).all()
    districts = boundaries.load_districts().set_index("adcode")
    per_district = facilities.groupby("district_adcode").size().reindex(districts.index, fill_value=0)
    per_100k = per_district / districts["population_2020"] * 100_000
    urban = per_100k[districts["urban_rural"] == "urban"].median()
    rural = per_100k[districts["urban_rural"] == "rural"].median()
    assert urban > 1.8 * rural  # 1.4 / 0.6 by construction, less the Poisson noise

    short = short_of(list(districts.index), 2025)
    assert len(short) == 11  # one in eight of the 90 districts
    counts = facilities.groupby(["district_adcode", "category"]).size().unstack(fill_value=0)
    for adcode, category in short.items():
        same_kind = districts.loc[counts.index, "urban_rural"] == districts.loc[adcode, "urban_rural"]
        rate = counts[category] / districts.loc[counts.index, "population_2020"]
        assert rate.get(adcode, 0) < 0.5 * rate[same_kind].median(), (adcode, category)
    # Capacity is known for care, health and schools, and unknown for bus stops and toilets.
    assert facilities.loc[facilities["category"] == "transit", "capacity"].isna().all()
    assert facilities.loc[facilities["category"] == "elderly_care", "capacity"].notna().all()
