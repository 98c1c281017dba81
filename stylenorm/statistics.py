"""Intervals and tests for the study grid: per-seed metrics in, means with confidence intervals out.

* ``mean_ci``: mean of per-seed values with a Student-t interval (scipy's t quantile):
  mean ± t(1 - alpha/2, n - 1) * s / sqrt(n). One value has no interval (NaN bounds).
* ``paired``: per-seed differences b - a (same seed = same initialisation and data order),
  their mean and t-interval, a paired t-test (scipy.stats.ttest_rel) and how many seeds went
  each way.
* ``holm``: Holm's step-down adjustment of a family of p-values (statsmodels' ``multipletests``);
  a NaN p-value (no test possible) is left out of the family and stays NaN.
* ``seeds_needed``: how many seeds a paired t-test needs for a given power at a given true
  difference, from an observed SD of paired differences (statsmodels' ``TTestPower``: a paired
  t-test is a one-sample t-test on the differences).
* ``bootstrap_miou``: a test-set bootstrap for single runs. Resample test images with
  replacement (seeded), re-sum per-image intersections and unions, and take mIoU of the sums,
  never the mean of per-image mIoUs. Paired: the same resampled images score both models.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import math

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower


@dataclass(frozen=True)
class Interval:
    mean: float
    ci_low: float
    ci_high: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def mean_ci(values, confidence: float = 0.95) -> Interval:
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, float("nan"), float("nan"), 1)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class Paired:
    delta: Interval  # mean of b - a over seeds, with its t-interval
    p_value: float  # two-sided paired t-test (NaN with one seed, or when every difference is equal)
    n_up: int  # seeds where b > a
    n_down: int  # seeds where b < a
    n_tied: int
    differences: tuple[float, ...]

    @property
    def sd(self) -> float:
        """Sample SD of the per-seed differences (NaN with one seed)."""
        return float(np.std(self.differences, ddof=1)) if len(self.differences) > 1 else float("nan")

    def to_dict(self) -> dict:
        return {"delta": self.delta.to_dict(), "p_value": self.p_value, "n_up": self.n_up, "n_down": self.n_down,
                "n_tied": self.n_tied, "differences": list(self.differences)}


def paired(a, b, confidence: float = 0.95) -> Paired:
    """Compare ``b`` against ``a``, seed by seed (equal-length sequences in seed order)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired needs one value per seed on both sides, got {a.shape} and {b.shape}")
    d = b - a
    p = float(stats.ttest_rel(b, a).pvalue) if len(d) > 1 and np.ptp(d) > 0 else float("nan")
    return Paired(mean_ci(d, confidence), p, int((d > 0).sum()), int((d < 0).sum()), int((d == 0).sum()),
                  tuple(float(v) for v in d))


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values of one family, in the input's order; NaN entries are not tests and stay NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def _power(effect: float, nobs: int, alpha: float) -> float:
    """Two-sided power of a one-sample t-test on ``nobs`` differences at standardized effect ``effect``
    (statsmodels' ``TTestPower``). Where statsmodels' two-sided value is NaN (scipy's noncentral t CDF
    fails at a large noncentrality, e.g. scipy 1.17 from about effect 6 at two seeds), its upper tail
    alone ("larger" at alpha / 2): the lower tail it leaves out is below Phi(-effect * sqrt(nobs)) < 1e-15."""
    test = TTestPower()
    p = float(test.power(effect_size=effect, nobs=nobs, alpha=alpha, alternative="two-sided"))
    if not math.isfinite(p):
        p = float(test.power(effect_size=effect, nobs=nobs, alpha=alpha / 2, alternative="larger"))
    return p


SCAN_SEEDS = 20  # seed counts up to this are found by evaluating the power at each n, not by the root finder


def seeds_needed(sd: float, difference: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Seeds (paired differences) a two-sided paired t-test at level ``alpha`` needs to detect a true
    mean difference ``difference`` with probability ``power``, if the differences' SD is ``sd``: the
    smallest n >= 2 (a t-test needs two differences) whose power reaches ``power``. Up to ``SCAN_SEEDS``
    each n's power is evaluated (statsmodels' root finder returns NaN or a wrong n for large effects,
    where scipy's noncentral t fails); beyond, statsmodels' ``solve_power``, rounded up. NaN when ``sd``
    is NaN or 0 (one seed, or every difference equal: no spread to plan with)."""
    if not (math.isfinite(sd) and sd > 0):
        return float("nan")
    effect = abs(difference) / sd
    for n in range(2, SCAN_SEEDS + 1):
        if _power(effect, n, alpha) >= power:
            return n
    n = TTestPower().solve_power(effect_size=effect, nobs=None, alpha=alpha, power=power, alternative="two-sided")
    n = float(np.asarray(n).squeeze())
    return float("nan") if not math.isfinite(n) else max(SCAN_SEEDS + 1, math.ceil(n - 1e-9))


def miou_from_sums(intersection: np.ndarray, union: np.ndarray) -> np.ndarray:
    """mIoU of summed (..., classes) intersections and unions; classes with no union are left out."""
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, intersection / np.maximum(union, 1), np.nan)
    return np.nanmean(iou, axis=-1)


def bootstrap_indices(n_images: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_images) image indices drawn with replacement, fixed by ``seed``."""
    return np.random.default_rng(seed).integers(0, n_images, size=(resamples, n_images))


def bootstrap_miou(intersection: np.ndarray, union: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """mIoU of each resample: (n_images, classes) per-image sums, ``idx`` from ``bootstrap_indices``."""
    return miou_from_sums(intersection[idx].sum(axis=1), union[idx].sum(axis=1))


def percentile_interval(point: float, draws: np.ndarray, confidence: float = 0.95) -> Interval:
    lo, hi = np.percentile(draws, [50 * (1 - confidence), 50 * (1 + confidence)])
    return Interval(float(point), float(lo), float(hi), 1)
