"""Small statistics for honest comparisons: smoothed rates and intervals for gaps.

Everything here is plain numpy/pandas on already-aggregated numbers (a few rows per district),
so it is cheap and testable without a database.

Gaps between urban and rural areas are computed from records pooled over districts, but the
districts differ among themselves far more than counting noise allows (at the demo's scale the
Pearson χ² of the district counts is ~20× its degrees of freedom). An interval that assumes
independent records (plain Poisson or binomial) is then several times too narrow, so every gap
interval here is a *quasi-likelihood* interval: its variance is multiplied by the scale
φ = Pearson χ² / df over the districts in scope (never below 1), and the 95 % quantile is
Student's t on those df (few districts, wider interval). See README "How the numbers are made".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Dispersion:
    """How much wider than independent-record noise an interval must be.

    ``scale`` φ multiplies the variance (1 = no overdispersion); ``df`` are the residual degrees of
    freedom it was estimated on (``None``: not estimated, use the normal quantile). ``scale`` is
    NaN when there are too few districts to estimate it: the interval is then unknown.
    """

    scale: float = 1.0
    df: int | None = None

    @property
    def quantile(self) -> float:
        """The two-sided 95 % quantile: Student's t on ``df``, or the normal one."""
        if self.df is None:
            return Z95
        if self.df < 1:
            return math.nan
        return float(scipy_stats.t.ppf(0.975, self.df))


INDEPENDENT = Dispersion()


def _dispersion(pearson_terms: np.ndarray, fitted_parameters: int) -> Dispersion:
    """φ = Σ terms / (units − parameters), floored at 1; NaN when no degree of freedom is left."""
    terms = np.asarray(pearson_terms, "float64")
    terms = terms[np.isfinite(terms)]
    df = int(terms.size) - fitted_parameters
    if df < 1:
        return Dispersion(math.nan, df)
    # Below 1 would claim districts agree *better* than chance: not believable for counts from
    # different places, and it would make the interval narrower than the independent-record one.
    return Dispersion(max(float(terms.sum()) / df, 1.0), df)


def _group_totals(values: pd.Series, groups: pd.Series) -> pd.Series:
    return values.groupby(groups).transform("sum")


def poisson_dispersion(counts: pd.Series, exposures: pd.Series, groups: pd.Series) -> Dispersion:
    """Quasi-Poisson scale of per-district counts around their group's pooled rate.

    Model: count_i ~ exposure_i × rate_group (one rate per group, e.g. urban and rural);
    φ = Σ (y_i − μ_i)² / μ_i ÷ (districts − groups). Districts without exposure are left out.
    """
    known = exposures.notna() & (exposures > 0) & counts.notna()
    y, n, g = counts[known].astype("float64"), exposures[known].astype("float64"), groups[known]
    mu = n * _group_totals(y, g) / _group_totals(n, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = ((y - mu) ** 2 / mu).where(mu > 0)
    return _dispersion(terms.dropna().to_numpy(), g.nunique())


def binomial_dispersion(hits: pd.Series, trials: pd.Series, groups: pd.Series) -> Dispersion:
    """Quasi-binomial scale of per-district shares around their group's pooled share.

    φ = Σ (h_i − n_i p_g)² / (n_i p_g (1 − p_g)) ÷ (districts − groups), over districts with
    trials (a group whose share is 0 or 1 adds no information and is left out).
    """
    known = trials.notna() & (trials > 0)
    h, n, g = hits[known].astype("float64"), trials[known].astype("float64"), groups[known]
    p = _group_totals(h, g) / _group_totals(n, g)
    variance = n * p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = ((h - n * p) ** 2 / variance).where(variance > 0)
    informative_groups = g[variance > 0].nunique()
    return _dispersion(terms.dropna().to_numpy(), informative_groups)


def mean_dispersion(counts: pd.Series, sums: pd.Series, sums_of_squares: pd.Series, groups: pd.Series) -> Dispersion:
    """Scale of per-district means around their group's mean, relative to within-group spread.

    With n_i values summing to s_i (squares q_i) in district i: group mean m_g and sample
    variance σ²_g from the pooled sums; φ = Σ n_i (s_i/n_i − m_g)² / σ²_g ÷ (districts − groups).
    Without clustering each term is χ²₁, so φ ≈ 1.
    """
    known = counts.notna() & (counts > 0)
    n, s, q, g = (counts[known].astype("float64"), sums[known].astype("float64"),
                  sums_of_squares[known].astype("float64"), groups[known])
    total_n, total_s, total_q = _group_totals(n, g), _group_totals(s, g), _group_totals(q, g)
    mean = total_s / total_n
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (total_q - total_s**2 / total_n) / (total_n - 1)
        terms = (n * (s / n - mean) ** 2 / variance).where(variance > 0)
    return _dispersion(terms.dropna().to_numpy(), g[variance > 0].nunique())


def eb_smoothed_rate(counts: pd.Series, population: pd.Series, groups: pd.Series) -> pd.Series:
    """Empirical-Bayes smoothed rates (per person), each area shrunk toward its group's rate.

    Marshall's (1991) method-of-moments estimator, applied within each group (the city) with the
    group's own prior: mean m_g = Σy/Σn and variance s²_g = Σn(r − m_g)²/Σn − m_g/n̄_g over the
    group's areas (n̄_g their mean population; s²_g floored at 0). Each area's rate r = y/n is
    pulled toward m_g with weight C = s²_g / (s²_g + m_g/n): small populations, and cities whose
    districts barely differ, move most. Areas with unknown population stay NaN.
    """
    counts = counts.astype("float64")
    population = population.astype("float64")
    known = population.notna() & (population > 0)
    if not known.any():
        return pd.Series(np.nan, index=counts.index)
    y, n, g = counts[known], population[known], groups[known]
    rate = y / n
    prior_mean = _group_totals(y, g) / _group_totals(n, g)
    mean_population = n.groupby(g).transform("mean")
    prior_variance = ((n * (rate - prior_mean) ** 2).groupby(g).transform("sum") / _group_totals(n, g)
                      - prior_mean / mean_population).clip(lower=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = (prior_variance / (prior_variance + prior_mean / n)).fillna(0.0)
    smoothed = weight * rate + (1 - weight) * prior_mean
    return smoothed.reindex(counts.index)


def rate_ratio_ci(count_a: float, exposure_a: float, count_b: float, exposure_b: float,
                  dispersion: Dispersion = INDEPENDENT) -> tuple[float, float, float]:
    """Ratio of two rates (a ÷ b) with a 95 % interval on the log scale, variance × φ."""
    if min(count_a, count_b) <= 0 or min(exposure_a, exposure_b) <= 0:
        return (math.nan, math.nan, math.nan)
    ratio = (count_a / exposure_a) / (count_b / exposure_b)
    half_width = dispersion.quantile * math.sqrt(dispersion.scale * (1 / count_a + 1 / count_b))
    return ratio, ratio * math.exp(-half_width), ratio * math.exp(half_width)


def proportion_diff_ci(hits_a: float, n_a: float, hits_b: float, n_b: float,
                       dispersion: Dispersion = INDEPENDENT) -> tuple[float, float, float]:
    """Difference of two proportions (a − b) with a 95 % Wald interval, variance × φ."""
    if n_a <= 0 or n_b <= 0:
        return (math.nan, math.nan, math.nan)
    p_a, p_b = hits_a / n_a, hits_b / n_b
    half_width = dispersion.quantile * math.sqrt(dispersion.scale * (p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b))
    diff = p_a - p_b
    return diff, diff - half_width, diff + half_width


def mean_diff_ci(mean_a: float, sd_a: float, n_a: float, mean_b: float, sd_b: float, n_b: float,
                 dispersion: Dispersion = INDEPENDENT) -> tuple[float, float, float]:
    """Difference of two means (a − b) with a 95 % interval, variance × φ."""
    if n_a < 2 or n_b < 2 or any(pd.isna(v) for v in (mean_a, mean_b, sd_a, sd_b)):
        return (math.nan, math.nan, math.nan)
    diff = mean_a - mean_b
    half_width = dispersion.quantile * math.sqrt(dispersion.scale * (sd_a**2 / n_a + sd_b**2 / n_b))
    return diff, diff - half_width, diff + half_width


def median_diff_ci(samples_a: list[np.ndarray], samples_b: list[np.ndarray], seed: int = 0,
                   resamples: int = 400) -> tuple[float, float, float]:
    """Difference of medians (a − b) with a 95 % district-level (cluster) bootstrap interval.

    ``samples_a``/``samples_b`` hold one array of values per district. Each resample draws the
    districts of each side with replacement and pools their values, so the spread between
    districts is carried into the interval (resampling single records would ignore it). Seeded.
    """
    clusters_a = [v[np.isfinite(v)] for v in map(lambda a: np.asarray(a, "float64"), samples_a)]
    clusters_b = [v[np.isfinite(v)] for v in map(lambda b: np.asarray(b, "float64"), samples_b)]
    clusters_a, clusters_b = [c for c in clusters_a if c.size], [c for c in clusters_b if c.size]
    if len(clusters_a) < 2 or len(clusters_b) < 2:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)

    def medians(clusters: list[np.ndarray]) -> np.ndarray:
        picks = rng.integers(0, len(clusters), (resamples, len(clusters)))
        return np.array([np.median(np.concatenate([clusters[i] for i in row])) for row in picks])

    diffs = medians(clusters_a) - medians(clusters_b)
    point = float(np.median(np.concatenate(clusters_a)) - np.median(np.concatenate(clusters_b)))
    return point, float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))
