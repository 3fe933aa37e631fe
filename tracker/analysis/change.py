"""Paired pre/post change per measure (and group): t, Wilcoxon, effect sizes, reliable change."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special

from tracker.analysis._common import (
    ADJUST_METHODS,
    RCI_CRITICAL,
    adjust_p,
    frame,
    join_notes,
    require_columns,
)
from tracker.analysis._dist import bisect_root, nct_cdf, norm_cdf, norm_sf, rankdata, t_ppf, t_sf
from tracker.analysis._dz_ci import dz_lookup
from tracker.analysis._paired import change_table, paired_table
from tracker.errors import AnalysisError

COLUMNS = (
    "measure",
    "group",
    "n",
    "mean_pre",
    "sd_pre",
    "mean_post",
    "sd_post",
    "mean_diff",
    "sd_diff",
    "ci_low",
    "ci_high",
    "t",
    "df",
    "p",
    "p_adj",
    "wilcoxon_stat",
    "wilcoxon_p",
    "rank_biserial",
    "cohen_dz",
    "dz_ci_low",
    "dz_ci_high",
    "d_av",
    "hedges_gav",
    "r_pre_post",
    "n_improved",
    "n_reliably_improved",
    "n_reliably_worse",
)
#: fields after the SPEC's (see :func:`paired_change`): shares and the RCI's SD, always;
#: criterion c and the recovered count only when some measure has norm_mean and norm_sd
EXTRA_COLUMNS = ("pct_reliably_improved", "pct_reliably_worse", "rci_sd")
CRITERION_COLUMNS = ("criterion_c", "n_recovered")
MIN_PAIRS = 3


def paired_change(
    scores: pd.DataFrame,
    pre: str,
    post: str,
    *,
    by: str | None = None,
    reliability: Mapping[str, float] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
    adjust: str = "holm",
    norm_sd: Mapping[str, float] | None = None,
    norm_mean: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Paired change from wave ``pre`` to wave ``post`` for every measure (x group).

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table with columns ``participant, wave, measure, score`` (plus
        ``by`` when given). Rows of other waves are ignored. Pairs are matched
        on ``participant``, never on row order; a repeated
        (participant, wave, measure) raises :class:`AnalysisError`.
    pre, post : str
        Wave names; differences are post - pre.
    by : str, optional
        Column to split by (e.g. ``"arm"`` or ``"cohort"``); one row per
        measure x value of ``by`` and no "all" row. Without it ``group`` is "all".
    reliability : mapping of measure -> float, optional
        r_xx for the reliable change index; a measure without one (or outside
        (0, 1)) gets null reliable-change counts and a note.
    higher_is_better : mapping of measure -> bool, optional
        Direction of improvement; default True.
    adjust : {"holm", "fdr_bh", "none"}
        Adjustment of the paired-t ``p`` across measures within each group.
    norm_sd, norm_mean : mapping of measure -> float, optional
        The instrument's normative (functional population) SD and mean. With
        ``norm_sd`` the RCI uses it instead of the row's sd_pre (and the note
        says so); with both, Jacobson & Truax's criterion c is computed.

    Returns
    -------
    pandas.DataFrame
        One row per measure x group, measures in order of first appearance,
        groups sorted. All statistics use the n complete pairs:

        - ``n`` : complete pairs (int).
        - ``mean_pre``, ``sd_pre``, ``mean_post``, ``sd_post`` : SDs with n - 1.
        - ``mean_diff``, ``sd_diff`` : of d = post - pre.
        - ``ci_low``, ``ci_high`` : mean_diff +/- t_{0.975, n-1} sd_diff / sqrt(n).
        - ``t``, ``df``, ``p`` : paired t = mean_diff / (sd_diff / sqrt(n)),
          df = n - 1, two-sided p.
        - ``p_adj`` : ``p`` adjusted across the measures of the same group.
        - ``wilcoxon_stat``, ``wilcoxon_p`` : signed-rank test as R
          ``wilcox.test(post, pre, paired = TRUE)``, except that d is first
          rounded to 10 decimals so that ties in decimal data stay ties (see
          :func:`wilcoxon_signed_rank`).
        - ``rank_biserial`` : matched-pairs rank-biserial correlation (Kerby
          2014), (R+ - R-) / (R+ + R-) over the non-zero differences.
        - ``cohen_dz`` : mean_diff / sd_diff; ``dz_ci_low``, ``dz_ci_high`` by
          inverting the noncentral t (df = n - 1, ncp = dz sqrt(n)), divided by
          sqrt(n) (Cumming & Finch 2001).
        - ``d_av`` : mean_diff / ((sd_pre + sd_post) / 2) (Cumming 2012; Lakens 2013).
        - ``hedges_gav`` : d_av x J(n - 1), J(df) = Gamma(df/2) /
          (sqrt(df/2) Gamma((df - 1)/2)) (Hedges 1981), via ``gammaln``.
        - ``r_pre_post`` : Pearson correlation of pre and post.
        - ``n_improved`` : pairs whose d is in the better direction (int).
        - ``n_reliably_improved``, ``n_reliably_worse`` : pairs with |RCI| >
          1.959964 in the better / worse direction, RCI = d / (sd_pre sqrt(2)
          sqrt(1 - r_xx)) (Jacobson & Truax 1991), sd_pre this row's, or the
          measure's ``norm_sd`` when given (Int64, null without a usable r_xx).

        Then fields beyond the SPEC's (``EXTRA_COLUMNS``):

        - ``pct_reliably_improved``, ``pct_reliably_worse`` : those counts as
          a percentage of ``n``.
        - ``rci_sd`` : the SD in the RCI's denominator (norm_sd or sd_pre).
        Only when some measure has both ``norm_mean`` and ``norm_sd``
        (``CRITERION_COLUMNS``; a study without norms keeps the fields above):

        - ``criterion_c`` : Jacobson & Truax (1991) cut-off between the
          dysfunctional (this group at pre) and functional (normative)
          distributions, c = (sd_pre norm_mean + norm_sd mean_pre) /
          (sd_pre + norm_sd); null without ``norm_mean`` and ``norm_sd``.
        - ``n_recovered`` : pairs reliably improved whose pre score is on the
          dysfunctional side of c and post score on the functional side
          (above c when higher is better, below otherwise) (Int64).
        - ``note`` : why values are missing, and "RCI on the normative SD"
          when ``norm_sd`` was used.

    Notes
    -----
    Tests and effect sizes need at least 3 complete pairs; below that only
    descriptives (means from 1 pair, SDs and reliable-change counts from 2) are
    given. When all differences are equal to 10 decimals (zero variance, float
    noise aside) t, its CI and dz are null; the Wilcoxon test still runs.
    Every null comes with a note. The SPEC calls the 10-decimal rounding "as R's
    wilcox.test computes it"; R's default (``digits.rank = Inf``) does not round,
    which matters when float noise breaks ties: the tests show a data set where
    R's default gives the exact p 0.195 and the SPEC's rule (= R on
    ``round(post - pre, 10)``) the tie-corrected normal p 0.182.
    """
    if adjust not in ADJUST_METHODS:
        raise AnalysisError(
            f"unknown p-value adjustment {adjust!r}; use one of {', '.join(ADJUST_METHODS)}"
        )
    if pre == post:
        raise AnalysisError(f"the pre and post waves are both {pre!r}; choose two different waves")
    cols = ["participant", "wave", "measure", "score"] + ([by] if by else [])
    require_columns(scores, cols, "the score table")
    table = paired_table(scores, pre, post, by)
    if table is not None:
        measures = table.measures
        if by:
            groups = sorted(table.group_labels, key=str)
            code = {g: i for i, g in enumerate(table.group_labels)}
            masks = {g: table.group_codes == code[g] for g in groups}
        else:
            groups, masks = ["all"], {"all": slice(None)}
        columns = {m: (table.column(j, 0), table.column(j, 1)) for j, m in enumerate(measures)}
    else:
        measures, groups, masks, columns = change_table(scores, cols, pre, post, by)
    rel = dict(reliability or {})
    hib = dict(higher_is_better or {})
    norms = {m: ((norm_sd or {}).get(m), (norm_mean or {}).get(m)) for m in measures}
    with_criterion = any(sd is not None and mean is not None for sd, mean in norms.values())

    pairs = {
        (g, m): (columns[m][0][masks[g]], columns[m][1][masks[g]]) for g in groups for m in measures
    }
    dz_ci = dz_lookup(pairs.values(), MIN_PAIRS, dz_confidence_interval)
    rows = []
    for g in groups:
        group_rows = []
        for m in measures:
            x, y = pairs[(g, m)]
            row = {"measure": m, "group": str(g)}
            row.update(
                _change_stats(
                    x,
                    y,
                    m,
                    pre,
                    post,
                    rel.get(m),
                    bool(hib.get(m, True)),
                    norms[m],
                    with_criterion,
                    dz_ci,
                )  # fmt: skip
            )
            group_rows.append(row)
        p_adj = adjust_p([r["p"] for r in group_rows], adjust)
        for r, pa in zip(group_rows, p_adj, strict=True):
            r["p_adj"] = pa
        rows.extend(group_rows)
    return frame(
        rows,
        COLUMNS + EXTRA_COLUMNS + (CRITERION_COLUMNS if with_criterion else ()),
        strings=("measure", "group"),
        ints=("n", "n_improved"),
        nullable_ints=("n_reliably_improved", "n_reliably_worse", "n_recovered"),
    )


def _change_stats(
    x: np.ndarray,
    y: np.ndarray,
    measure: str,
    pre: str,
    post: str,
    r_xx: float | None,
    higher_is_better: bool,
    norm: tuple[float | None, float | None] = (None, None),
    with_criterion: bool = False,
    dz_ci=None,
) -> dict:
    """All statistics of one measure x group row from aligned pre (x) and post (y) arrays.

    ``dz_ci``: (dz, n) -> dz's CI, computed beforehand for the table
    (:func:`~tracker.analysis._dz_ci.dz_lookup`); default :func:`dz_confidence_interval`.
    """
    nan = float("nan")
    out = dict.fromkeys(COLUMNS[2:] + EXTRA_COLUMNS + CRITERION_COLUMNS, nan)
    notes = []
    for wave, values in ((pre, x), (post, y)):
        if not np.any(~np.isnan(values)):
            notes.append(f"measure not recorded at wave {wave}")
    keep = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[keep], y[keep]
    n = int(keep.sum())
    d = y - x
    d_r = np.round(d, 10)  # decimal data: 1.3 - 0.1 and 1.2 - 0.0 must tie
    better = d_r > 0 if higher_is_better else d_r < 0
    out.update(n=n, n_improved=int(better.sum()))
    if n == 0:
        if not notes:
            notes.append("no participant has scores at both waves")
    elif n < MIN_PAIRS:
        notes.append(f"fewer than {MIN_PAIRS} complete pairs")
    if n >= 1:
        out.update(mean_pre=x.mean(), mean_post=y.mean(), mean_diff=d.mean())
    if n >= 2:
        out.update(sd_pre=x.std(ddof=1), sd_post=y.std(ddof=1), sd_diff=d.std(ddof=1))
        out.update(
            _reliable_change(
                x, y, out["sd_pre"], measure, r_xx, higher_is_better, norm, notes, with_criterion
            )
        )
    if n < MIN_PAIRS:
        return _finish(out, notes)

    sd_pre, sd_post, sd_diff, mean_diff = (
        out["sd_pre"],
        out["sd_post"],
        out["sd_diff"],
        out["mean_diff"],
    )
    df = n - 1
    out["df"] = float(df)
    # differences equal to 10 decimals are equal: float noise (0.3 - 0.1 vs 0.2) must not
    # turn a constant difference into an enormous t
    if np.ptp(d_r) > 0:
        se = sd_diff / np.sqrt(n)
        t = mean_diff / se
        half = t_ppf(0.975, df) * se
        dz = mean_diff / sd_diff
        lo, hi = (dz_ci or dz_confidence_interval)(dz, n)
        if np.isnan(lo) or np.isnan(hi):
            notes.append("dz CI not computable: the noncentral t cannot be inverted this far out")
        out.update(
            t=t,
            p=2.0 * t_sf(abs(t), df),
            ci_low=mean_diff - half,
            ci_high=mean_diff + half,
            cohen_dz=dz,
            dz_ci_low=lo,
            dz_ci_high=hi,
        )
    else:
        notes.append("zero variance in differences: t test and dz undefined")

    v, p_w, rb, w_note = wilcoxon_signed_rank(d)
    out.update(wilcoxon_stat=v, wilcoxon_p=p_w, rank_biserial=rb)
    notes.append(w_note)

    if sd_pre + sd_post > 0:
        d_av = mean_diff / ((sd_pre + sd_post) / 2.0)
        out.update(d_av=d_av, hedges_gav=d_av * hedges_j(df))
    else:
        notes.append("zero variance at both waves: d_av undefined")
    if sd_pre > 0 and sd_post > 0:
        out["r_pre_post"] = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    else:
        notes.append("zero variance at one wave: r_pre_post undefined")
    return _finish(out, notes)


def _finish(out: dict, notes: list[str]) -> dict:
    out["note"] = join_notes(*notes)
    return out


def _reliable_change(
    x: np.ndarray,
    y: np.ndarray,
    sd_pre: float,
    measure: str,
    r_xx: float | None,
    higher_is_better: bool,
    norm: tuple[float | None, float | None],
    notes: list[str],
    with_criterion: bool = False,
) -> dict:
    """Reliable-change counts and shares with the Jacobson-Truax RCI, and criterion c."""
    norm_sd, norm_mean = (None if v is None or pd.isna(v) else float(v) for v in norm)
    if r_xx is None or pd.isna(r_xx):
        notes.append(f"no reliability for {measure}: reliable change not counted")
        return {}
    if not 0.0 < float(r_xx) < 1.0:
        notes.append(
            f"reliability {r_xx} of {measure} is outside (0, 1): reliable change not counted"
        )
        return {}
    if norm_sd is not None and not norm_sd > 0:
        notes.append(
            f"norm_sd {norm_sd:g} of {measure} is not positive: reliable change not counted"
        )
        return {}
    if norm_sd is None and not sd_pre > 0:
        notes.append("zero variance at pre: reliable change not counted")
        return {}
    sd = sd_pre if norm_sd is None else norm_sd
    if norm_sd is not None:
        notes.append(f"RCI on the normative SD {norm_sd:g} (norm_sd), not sd_pre")
    d = y - x
    rci = d / (sd * np.sqrt(2.0) * np.sqrt(1.0 - float(r_xx)))
    up, down = rci > RCI_CRITICAL, rci < -RCI_CRITICAL
    better, worse = (up, down) if higher_is_better else (down, up)
    n = len(d)
    out = {
        "n_reliably_improved": int(better.sum()),
        "n_reliably_worse": int(worse.sum()),
        "pct_reliably_improved": 100.0 * better.sum() / n,
        "pct_reliably_worse": 100.0 * worse.sum() / n,
        "rci_sd": sd,
    }
    if norm_sd is None or norm_mean is None:
        if norm_sd is not None or norm_mean is not None:
            why = "norm_sd" if norm_sd is None else "norm_mean"
            notes.append(f"criterion c needs the instrument's {why} too: recovery not counted")
        elif with_criterion:
            notes.append(f"no norm_mean and norm_sd for {measure}: criterion c not computed")
        return out
    if not sd_pre > 0:
        notes.append("zero variance at pre: criterion c undefined")
        return out
    c = (sd_pre * norm_mean + norm_sd * x.mean()) / (sd_pre + norm_sd)
    functional_post = y > c if higher_is_better else y < c
    dysfunctional_pre = x <= c if higher_is_better else x >= c
    out.update(criterion_c=c, n_recovered=int((better & functional_post & dysfunctional_pre).sum()))
    return out


def hedges_j(df: float) -> float:
    """Exact small-sample correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)), df > 1."""
    return float(
        np.exp(
            special.gammaln(df / 2.0) - 0.5 * np.log(df / 2.0) - special.gammaln((df - 1.0) / 2.0)
        )
    )


def dz_confidence_interval(dz: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """CI of Cohen's dz by inverting the noncentral t distribution.

    The limits are the noncentrality parameters for which the observed
    t = dz sqrt(n) (df = n - 1) sits at the upper and lower (1 - level)/2
    tails, divided by sqrt(n); found by bisection on the noncentral t CDF (``scipy.special.nctdtr``).
    Same as R ``effectsize::cohens_d(post, pre, paired = TRUE)`` (effectsize
    < 0.9) and as solving ``pt(t, n - 1, ncp) = 0.975 / 0.025`` with ``uniroot``.
    """
    df = n - 1
    t_obs = dz * np.sqrt(n)
    alpha = (1.0 - level) / 2.0

    def solve(target: float) -> float:
        def f(ncp: float) -> float:
            return float(nct_cdf(t_obs, df, ncp)) - target

        # cdf falls as ncp rises: widen [lo, hi] until the root is inside
        step = 2.0 + abs(t_obs) * 0.5
        lo, hi = t_obs - step, t_obs + step
        for _ in range(60):
            if not f(lo) < 0:
                break
            lo -= step
            step *= 2.0
        for _ in range(60):
            if not f(hi) > 0:
                break
            hi += step
            step *= 2.0
        if not (f(lo) >= 0 >= f(hi)):  # NaN from nct far in the tails, or no bracket
            return float("nan")
        return bisect_root(f, lo, hi, xtol=1e-12)

    if not np.isfinite(t_obs):
        return float("nan"), float("nan")
    return solve(1.0 - alpha) / np.sqrt(n), solve(alpha) / np.sqrt(n)


def wilcoxon_signed_rank(d: np.ndarray) -> tuple[float, float, float, str]:
    """Wilcoxon signed-rank test of differences ``d`` against 0, as R ``wilcox.test``.

    Differences are rounded to 10 decimals, zeros dropped, |d| ranked with
    average ties. V = sum of the ranks of positive d. With fewer than 50
    differences and no ties or zeros the p is exact (the null distribution of
    V by counting subsets); otherwise the normal approximation
    z = (V - n(n+1)/4 - 0.5 sign(.)) / sqrt(n(n+1)(2n+1)/24 - sum(t^3 - t)/48),
    i.e. R's default ``correct = TRUE`` with tie-corrected variance.

    Returns
    -------
    (V, p, rank_biserial, note)
        rank_biserial = (R+ - R-) / (R+ + R-) (Kerby 2014). All NaN with a
        note when every difference is zero.
    """
    d = np.round(np.asarray(d, dtype=np.float64), 10)
    d = d[~np.isnan(d)]
    zeros = bool(np.any(d == 0))
    d = d[d != 0]
    n = d.size
    if n == 0:
        nan = float("nan")
        return nan, nan, nan, "all differences are zero: Wilcoxon test undefined"
    ranks = rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    total = n * (n + 1) / 2.0
    rank_biserial = (v - (total - v)) / total
    _, tie_sizes = np.unique(ranks, return_counts=True)
    ties = bool(np.any(tie_sizes > 1))
    if n < 50 and not ties and not zeros:
        counts = _signrank_counts(n)
        iv = int(round(v))
        if v > n * (n + 1) / 4.0:
            p = counts[iv:].sum() / 2.0**n  # P(V >= v)
        else:
            p = counts[: iv + 1].sum() / 2.0**n  # P(V <= v)
        return v, float(min(1.0, 2.0 * p)), rank_biserial, ""
    z = v - n * (n + 1) / 4.0
    sigma = np.sqrt(
        n * (n + 1) * (2 * n + 1) / 24.0
        - float(np.sum(tie_sizes.astype(float) ** 3 - tie_sizes)) / 48.0
    )
    z = (z - np.sign(z) * 0.5) / sigma
    p = 2.0 * min(float(norm_cdf(z)), float(norm_sf(z)))
    return v, float(min(1.0, p)), rank_biserial, ""


def _signrank_counts(n: int) -> np.ndarray:
    """Number of subsets of {1..n} with each rank sum 0..n(n+1)/2 (exact null of V)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts
