"""Small statistics for honest comparisons: smoothed rates and intervals for gaps.

Everything here is plain numpy/pandas on already-aggregated numbers (a few rows), so it is
cheap and testable without a database.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def eb_smoothed_rate(counts: pd.Series, population: pd.Series, groups: pd.Series) -> pd.Series:
    """Empirical-Bayes smoothed rates (per person), shrunk toward each group's pooled rate.

    Marshall's (1991) method-of-moments estimator: prior mean m_g = Σy/Σn within the group (the
    city); prior variance s² = Σn(r−m)²/Σn − m/n̄ over all areas (floored at 0). Each area's rate
    r = y/n is pulled toward m_g with weight s²/(s² + m_g/n): small populations and small counts
    move most. Areas with unknown population stay NaN.
    """
    counts = counts.astype("float64")
    population = population.astype("float64")
    known = population.notna() & (population > 0)
    rate = counts / population
    pooled = (counts.where(known).groupby(groups).transform("sum")
              / population.where(known).groupby(groups).transform("sum"))
    n_known = population[known]
    if n_known.empty:
        return pd.Series(np.nan, index=counts.index)
    overall = counts[known].sum() / n_known.sum()
    variance = (n_known * (rate[known] - pooled[known]) ** 2).sum() / n_known.sum() - overall / n_known.mean()
    variance = max(float(variance), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = variance / (variance + pooled / population)
    weight = weight.fillna(0.0)
    smoothed = weight * rate + (1 - weight) * pooled
    return smoothed.where(known)


def rate_ratio_ci(count_a: float, exposure_a: float, count_b: float, exposure_b: float) -> tuple[float, float, float]:
    """Ratio of two Poisson rates (a ÷ b) with a 95 % interval on the log scale."""
    if min(count_a, count_b) <= 0 or min(exposure_a, exposure_b) <= 0:
        return (math.nan, math.nan, math.nan)
    ratio = (count_a / exposure_a) / (count_b / exposure_b)
    half_width = Z95 * math.sqrt(1 / count_a + 1 / count_b)
    return ratio, ratio * math.exp(-half_width), ratio * math.exp(half_width)


def proportion_diff_ci(hits_a: float, n_a: float, hits_b: float, n_b: float) -> tuple[float, float, float]:
    """Difference of two proportions (a − b) with a 95 % Wald interval."""
    if n_a <= 0 or n_b <= 0:
        return (math.nan, math.nan, math.nan)
    p_a, p_b = hits_a / n_a, hits_b / n_b
    half_width = Z95 * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    diff = p_a - p_b
    return diff, diff - half_width, diff + half_width


def mean_diff_ci(mean_a: float, sd_a: float, n_a: float, mean_b: float, sd_b: float, n_b: float) -> tuple[float, float, float]:
    """Difference of two means (a − b) with a 95 % normal interval."""
    if n_a < 2 or n_b < 2 or any(pd.isna(v) for v in (mean_a, mean_b, sd_a, sd_b)):
        return (math.nan, math.nan, math.nan)
    diff = mean_a - mean_b
    half_width = Z95 * math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
    return diff, diff - half_width, diff + half_width


def median_diff_ci(sample_a: np.ndarray, sample_b: np.ndarray, seed: int = 0, resamples: int = 400) -> tuple[float, float, float]:
    """Difference of medians (a − b) with a 95 % percentile-bootstrap interval (seeded)."""
    sample_a = np.asarray(sample_a, "float64")
    sample_b = np.asarray(sample_b, "float64")
    sample_a, sample_b = sample_a[np.isfinite(sample_a)], sample_b[np.isfinite(sample_b)]
    if sample_a.size < 2 or sample_b.size < 2:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    boot_a = np.median(rng.choice(sample_a, (resamples, sample_a.size)), axis=1)
    boot_b = np.median(rng.choice(sample_b, (resamples, sample_b.size)), axis=1)
    diffs = boot_a - boot_b
    return float(np.median(sample_a) - np.median(sample_b)), float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))
