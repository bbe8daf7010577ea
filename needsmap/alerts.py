"""Early warning (本周异常): which district × category has far more requesters this week than usual.

"This week" is the 7 days ending on the view's last day (the filter's ``date_to``, else the
data's last day), so a week is never cut short. Each district × category is compared with its
own baseline, counted the same way (distinct requesters in 7-day windows, so one person calling
fifty times is not a surge):

* **seasonal** when the data reaches back: the same week and the three weeks either side in
  each earlier year the data covers (up to three years; 7 windows a year);
* else **trailing**: the 12 weeks before (at least 4 needed; fewer: no alerts).

The count model allows overdispersion (quasi-Poisson): the baseline mean μ (with ½ added to the
total, so an all-zero baseline still has a mean), the dispersion φ = max(1, Pearson χ² / (n − 1))
of the baseline windows, and a prediction variance φ·μ·(1 + 1/n) (the week's own noise plus the
baseline mean's uncertainty). The week's count is judged against the negative binomial with that
mean and variance: p = P(X ≥ observed). Benjamini–Hochberg false-discovery-rate control at
q = 5 % runs over every district × category of the view (the untested ones count as p = 1),
and a surge needs at least ``MIN_REQUESTERS`` requesters. Surges are ranked by their excess
(observed − expected requesters).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

FDR_Q = 0.05
MIN_REQUESTERS = 3
SEASONAL_YEARS = 3
SEASONAL_HALF_WIDTH = 3  # weeks either side of the same week a year earlier
TRAILING_WEEKS = 12
MIN_TRAILING_WEEKS = 4


@dataclass(frozen=True)
class Baseline:
    kind: str  # "seasonal" | "trailing" | "none"
    weeks_back: tuple[int, ...]  # 7-day windows before the current one (1 = the week before)


def baseline_weeks(end_day: date, first_day: date) -> Baseline:
    """Which earlier 7-day windows make the baseline of the week ending on ``end_day``, given the
    data's first day ``first_day`` (a window counts only when it lies wholly inside the data)."""

    def covered(w: int) -> bool:
        return end_day - timedelta(days=7 * w + 6) >= first_day

    seasonal = [w for year in range(1, SEASONAL_YEARS + 1)
                for w in range(52 * year - SEASONAL_HALF_WIDTH, 52 * year + SEASONAL_HALF_WIDTH + 1)
                if covered(52 * year + SEASONAL_HALF_WIDTH)]
    if seasonal:
        return Baseline("seasonal", tuple(seasonal))
    trailing = [w for w in range(1, TRAILING_WEEKS + 1) if covered(w)]
    if len(trailing) >= MIN_TRAILING_WEEKS:
        return Baseline("trailing", tuple(trailing))
    return Baseline("none", ())


def negative_binomial_sf(observed: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """P(X ≥ observed) for X negative binomial with the given mean and variance (> mean), or
    Poisson where the variance equals the mean."""
    from scipy.stats import nbinom, poisson

    observed, mean, variance = (np.asarray(v, "float64") for v in (observed, mean, variance))
    excess = variance - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(excess > 1e-12, mean**2 / excess, np.inf)
        prob = np.where(excess > 1e-12, mean / variance, 1.0)
    nb = nbinom.sf(observed - 1, np.where(np.isfinite(size), size, 1.0), prob)
    return np.where(np.isfinite(size), nb, poisson.sf(observed - 1, mean))


def score(counts: pd.DataFrame, baseline: Baseline, n_series: int, q: float = FDR_Q,
          min_requesters: int = MIN_REQUESTERS) -> pd.DataFrame:
    """Surges among ``counts`` (district_adcode, category, w, requesters[, records]; w = 0 this week).

    ``n_series``: how many district × category series the view holds (for BH; series without a
    row this week are untested, p = 1). Returns one row per series with requesters this week,
    ranked by excess: district_adcode, category, requesters, records, expected, dispersion, ratio,
    p, q_value (BH-adjusted), surge (bool).
    """
    from scipy.stats import false_discovery_control

    columns = ["district_adcode", "category", "requesters", "records", "expected", "dispersion", "ratio", "p",
               "q_value", "surge"]
    if baseline.kind == "none" or counts.empty:
        return pd.DataFrame(columns=columns)
    counts = counts.assign(records=counts["records"] if "records" in counts else counts["requesters"])
    now = counts[counts["w"] == 0].set_index(["district_adcode", "category"])
    if now.empty:
        return pd.DataFrame(columns=columns)
    past = counts[counts["w"].isin(baseline.weeks_back)]
    wide = past.pivot_table(index=["district_adcode", "category"], columns="w", values="requesters",
                            aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=now.index, columns=list(baseline.weeks_back), fill_value=0).fillna(0)
    history = wide.to_numpy("float64")
    n = history.shape[1]
    mean = (history.sum(axis=1) + 0.5) / n
    raw_mean = history.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = ((history - raw_mean[:, None]) ** 2).sum(axis=1) / np.where(raw_mean > 0, raw_mean, 1.0)
    dispersion = np.maximum(1.0, chi2 / max(n - 1, 1))
    observed = now["requesters"].to_numpy("float64")
    p = negative_binomial_sf(observed, mean, dispersion * mean * (1 + 1 / n))
    padded = np.concatenate([p, np.ones(max(n_series - len(p), 0))])
    q_value = false_discovery_control(np.clip(padded, 0.0, 1.0), method="bh")[: len(p)]
    out = pd.DataFrame({
        "district_adcode": now.index.get_level_values(0), "category": now.index.get_level_values(1),
        "requesters": now["requesters"].to_numpy("int64"), "records": now["records"].to_numpy("int64"),
        "expected": mean, "dispersion": dispersion, "ratio": observed / mean, "p": p, "q_value": q_value,
    })
    out["surge"] = (out["q_value"] <= q) & (out["requesters"] >= min_requesters)
    out["excess"] = out["requesters"] - out["expected"]
    return out.sort_values(["surge", "excess"], ascending=[False, False], ignore_index=True)[columns]


@dataclass(frozen=True)
class Surges:
    """The surge list of a view's last week."""

    end_day: date | None
    baseline: Baseline
    table: pd.DataFrame  # ``score``'s columns, surges first

    @property
    def start_day(self) -> date | None:
        return self.end_day - timedelta(days=6) if self.end_day else None

    def surges(self) -> pd.DataFrame:
        return self.table[self.table["surge"].astype(bool).to_numpy()]


def surges(con, f, q: float = FDR_Q, min_requesters: int = MIN_REQUESTERS) -> Surges:
    """The surge list of a view (``Filter``): its last week against each series' own baseline."""
    from needsmap import hotspot_queries, taxonomy

    undated = f.with_changes(date_from=None, date_to=None)
    first, last = hotspot_queries.period(con, undated)
    if first is None:
        return Surges(None, Baseline("none", ()), score(pd.DataFrame(), Baseline("none", ()), 0))
    end_day = min(f.date_to, last) if f.date_to else last
    baseline = baseline_weeks(end_day, first)
    if baseline.kind == "none":
        return Surges(end_day, baseline, score(pd.DataFrame(), baseline, 0))
    counts = hotspot_queries.weekly_requesters(con, undated, end_day, (0, *baseline.weeks_back))
    n_districts = hotspot_queries.districts_in_view(con, undated)
    n_categories = len(f.categories) if f.categories else len(taxonomy.CATEGORIES)
    return Surges(end_day, baseline, score(counts, baseline, n_districts * n_categories, q, min_requesters))


def placebo_rate(con, f, runs: int, seed: int, weeks: int = 104) -> tuple[int, int]:
    """Placebo check: the records' times shuffled. Each district × category keeps its number of
    requesters over the last ``weeks`` weeks, but each requester's week is drawn anew from all
    requesters' weeks (so the data's overall seasonality stays and every burst is scattered);
    then the last week is judged against its baseline as usual, ``runs`` times. No series has a
    special week after shuffling, so a run with any surge is a false alarm.
    Returns (runs with any surge, runs)."""
    from needsmap import hotspot_queries, taxonomy

    undated = f.with_changes(date_from=None, date_to=None)
    first, last = hotspot_queries.period(con, undated)
    if first is None:
        return 0, runs
    end_day = min(f.date_to, last) if f.date_to else last
    baseline = baseline_weeks(end_day, first)
    if baseline.kind == "none":
        return 0, runs
    span = min(weeks, ((end_day - first).days + 1) // 7)
    counts = hotspot_queries.weekly_requesters(con, undated, end_day, tuple(range(span)))
    wide = counts.pivot_table(index=["district_adcode", "category"], columns="w", values="requesters",
                              aggfunc="sum", fill_value=0).reindex(columns=range(span), fill_value=0)
    n_series = hotspot_queries.districts_in_view(con, undated) * (len(f.categories) or len(taxonomy.CATEGORIES))
    rng = np.random.default_rng(seed)
    used = (0, *baseline.weeks_back)
    alarms = 0
    totals = wide.to_numpy().sum(axis=1)
    week_share = wide.to_numpy().sum(axis=0) / max(totals.sum(), 1)
    for _ in range(runs):
        values = rng.multinomial(totals, week_share)
        long = pd.DataFrame(values, index=wide.index, columns=wide.columns).stack().rename("requesters").reset_index()
        long = long[(long["requesters"] > 0) & long["w"].isin(used)]
        alarms += bool(score(long, baseline, n_series)["surge"].any())
    return alarms, runs


def surge_words(row, names: dict[str, str], lang: str) -> tuple[str, str]:
    """One surge (a row of ``score``) in words: (place · category, the figures)."""
    from needsmap.i18n import t, term

    city = names.get(row.district_adcode[:4] + "00", "")
    place = f"{city} · {names.get(row.district_adcode, row.district_adcode)} · {term('category', row.category, lang)}"
    figures = (f"{t('c_requesters_week', lang)} {int(row.requesters)} · {t('c_expected', lang)} {row.expected:.1f} · "
               f"{t('c_ratio', lang)} {row.ratio:.0f}")
    return place, figures
