"""Statistics beyond description, computed by scipy.stats (the library analysts check against):
distribution functions on columns, and tests as aggregates giving a p-value or a statistic.

Every test drops null rows first, and gives null where scipy cannot answer (too few values, a
constant column, an infinity) instead of NaN or an exception. docs/language.md names the scipy
call each function matches."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd


class _Lazy:
    """scipy.stats, imported on first use: the import takes most of the command line's start-up
    time, and few programs call a test."""

    def __getattr__(self, name: str):
        return getattr(importlib.import_module("scipy.stats"), name)


stats = _Lazy()


def load() -> None:
    """Import scipy.stats now, as a long-lived process does at start, so that no program's
    deadline pays for it."""
    importlib.import_module("scipy.stats")


def _late(name: str):
    """A scipy.stats function looked up when called, so naming it does not import scipy."""
    return lambda *args, **kwargs: getattr(stats, name)(*args, **kwargs)


def _numbers(x) -> np.ndarray:
    return pd.Series(x).astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _quiet(compute):
    """Run a scipy call without its warnings (small samples, constant input): a result that is
    not a finite number is null."""

    def run(*args):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                value = compute(*args)
            except (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError):
                return None
        return float(value) if value is not None and np.isfinite(value) else None

    return run


# ---------------------------------------------------------------- distribution functions


def _vectorized(function):
    def run(*series):
        values = [_numbers(s) for s in series]
        with np.errstate(all="ignore"):
            out = function(*values)
        return pd.Series(np.asarray(out, dtype=float), index=series[0].index)

    return run


DISTRIBUTIONS = {
    "normal_cdf": _vectorized(lambda x, mean=0.0, std=1.0: stats.norm.cdf(x, loc=mean, scale=std)),
    "normal_ppf": _vectorized(lambda q, mean=0.0, std=1.0: stats.norm.ppf(q, loc=mean, scale=std)),
    "t_cdf": _vectorized(lambda x, df: stats.t.cdf(x, df)),
    "chi2_cdf": _vectorized(lambda x, df: stats.chi2.cdf(x, df)),
}


# ---------------------------------------------------------------- tests on one sample


def _sample(x, least: int):
    values = _numbers(x)
    values = values[~np.isnan(values)]
    if len(values) < least or not np.isfinite(values).all():
        return None
    return values


def _one_sample(test, least: int, field: str):
    def compute(x):
        values = _sample(x, least)
        return None if values is None else getattr(test(values), field)

    return _quiet(compute)


def _ks_norm(values):
    # Against a normal with the sample's own mean and (n - 1) standard deviation.
    return stats.kstest(values, "norm", args=(values.mean(), values.std(ddof=1)))


# ---------------------------------------------------------------- tests on two samples


def _pairs(x, y):
    a, b = _numbers(x), _numbers(y)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if len(a) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    return a, b


def _paired(test, field: str):
    def compute(x, y):
        pair = _pairs(x, y)
        return None if pair is None else getattr(test(*pair), field)

    return _quiet(compute)


def _split(x, in_first):
    """The values where ``in_first`` is true, and where it is false (null rows dropped)."""
    values, flags = _numbers(x), _numbers(in_first)
    known = ~(np.isnan(values) | np.isnan(flags))
    values, flags = values[known], flags[known]
    if not np.isfinite(values).all():
        return None
    return values[flags == 1], values[flags == 0]


def _two_samples(test, field: str, least: int):
    def compute(x, in_first):
        samples = _split(x, in_first)
        if samples is None or min(len(samples[0]), len(samples[1])) < least:
            return None
        return getattr(test(*samples), field)

    return _quiet(compute)


def _welch(a, b):
    return stats.ttest_ind(a, b, equal_var=False)


def _student(a, b):
    return stats.ttest_ind(a, b, equal_var=True)


def _mannwhitney(a, b):
    return stats.mannwhitneyu(a, b, alternative="two-sided")


def _contingency(a, b):
    frame = pd.DataFrame({"a": pd.Series(a).astype(object), "b": pd.Series(b).astype(object).to_numpy()})
    frame = frame[frame["a"].notna() & frame["b"].notna()]
    table = pd.crosstab(frame["a"], frame["b"])
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    return table.to_numpy()


def _chi2(field: str):
    def compute(a, b):
        table = _contingency(a, b)
        return None if table is None else getattr(stats.chi2_contingency(table), field)

    return _quiet(compute)


def _anova(field: str):
    def compute(x, group):
        values = _numbers(x)
        frame = pd.DataFrame({"x": values, "g": pd.Series(group).astype(object).to_numpy()})
        frame = frame[frame["x"].notna() & frame["g"].notna()]
        if not np.isfinite(frame["x"].to_numpy()).all():
            return None
        samples = [part.to_numpy() for _, part in frame.groupby("g", sort=True)["x"]]
        if len(samples) < 2:
            return None
        return getattr(stats.f_oneway(*samples), field)

    return _quiet(compute)


TESTS = {
    "shapiro_p": _one_sample(_late("shapiro"), 3, "pvalue"),
    "shapiro_stat": _one_sample(_late("shapiro"), 3, "statistic"),
    "ks_norm_p": _one_sample(_ks_norm, 2, "pvalue"),
    "ks_norm_stat": _one_sample(_ks_norm, 2, "statistic"),
    "normaltest_p": _one_sample(_late("normaltest"), 8, "pvalue"),
    "normaltest_stat": _one_sample(_late("normaltest"), 8, "statistic"),
    "pearson_p": _paired(_late("pearsonr"), "pvalue"),
    "spearman": _paired(_late("spearmanr"), "statistic"),
    "spearman_p": _paired(_late("spearmanr"), "pvalue"),
    "kendall": _paired(_late("kendalltau"), "statistic"),
    "kendall_p": _paired(_late("kendalltau"), "pvalue"),
    "ttest_p": _two_samples(_welch, "pvalue", 2),
    "ttest_stat": _two_samples(_welch, "statistic", 2),
    "ttest_equal_p": _two_samples(_student, "pvalue", 2),
    "ttest_equal_stat": _two_samples(_student, "statistic", 2),
    "mannwhitney_p": _two_samples(_mannwhitney, "pvalue", 1),
    "mannwhitney_stat": _two_samples(_mannwhitney, "statistic", 1),
    "chi2_p": _chi2("pvalue"),
    "chi2_stat": _chi2("statistic"),
    "anova_p": _anova("pvalue"),
    "anova_stat": _anova("statistic"),
}


def per_group(whole):
    """A whole-column aggregate run on each group of a GroupBy (the columns ``cols`` of its frame)."""

    def grouped(gb, cols, consts):
        if gb.ngroups == 0:  # empty, but indexed like the other aggregates of the step
            return gb.size().astype(float)
        frame = gb.obj
        others = [frame[c] for c in cols[1:]]
        result = gb[cols[0]].apply(lambda s: whole(s, *(o.loc[s.index] for o in others), *consts))
        return result.astype(float)

    return grouped
