"""Arm comparison at post adjusted for pre: ANCOVA plus Morris's (2008) d_ppc2."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tracker.analysis._common import (
    Z975,
    check_unique,
    frame,
    join_notes,
    numeric,
    require_columns,
    unique_in_order,
)
from tracker.analysis._dist import t_ppf, t_sf
from tracker.analysis._paired import paired_table
from tracker.errors import AnalysisError

COLUMNS = (
    "measure",
    "arm",
    "reference_arm",
    "n",
    "adj_diff",
    "ci_low",
    "ci_high",
    "t",
    "p",
    "partial_eta_sq",
    "d_ppc",
    "d_ppc_ci_low",
    "d_ppc_ci_high",
)


#: residual SS at or below this share of the total SS counts as an exact fit (rounding only)
EXACT_FIT = 1e-20


def choose_reference_arm(arms, reference_arm: str | None = None) -> str:
    """The reference arm: ``reference_arm`` if given, else "control" if present, else the
    first arm alphabetically. Raises :class:`AnalysisError` for an unknown ``reference_arm``."""
    arms = [str(a) for a in arms]
    if reference_arm is not None:
        if reference_arm not in arms:
            raise AnalysisError(
                f"reference arm {reference_arm!r} not found; arms are {', '.join(sorted(arms))}"
            )
        return reference_arm
    return "control" if "control" in arms else sorted(arms)[0]


def compare_arms(
    scores: pd.DataFrame,
    pre: str,
    post: str,
    *,
    arm: str = "arm",
    reference_arm: str | None = None,
) -> pd.DataFrame:
    """Compare each arm with the reference arm at ``post``, adjusting for ``pre`` (ANCOVA).

    Parameters
    ----------
    scores : pandas.DataFrame
        Long table ``participant, wave, measure, score`` and the ``arm``
        column; rows of other waves are ignored; pairs matched by participant.
    pre, post : str
        Wave names.
    arm : str
        Name of the arm column.
    reference_arm : str, optional
        Default "control" if present, else the first arm alphabetically.

    Returns
    -------
    pandas.DataFrame
        One row per measure x non-reference arm:

        - ``measure``, ``arm``, ``reference_arm``.
        - ``n`` : complete (pre, post) cases in the model, all arms (int).
        - ``adj_diff``, ``ci_low``, ``ci_high``, ``t``, ``p`` : the arm's
          coefficient in the OLS fit post ~ pre + arm (treatment coding against
          the reference arm, all arms in one model; R ``lm(post ~ pre + arm)``),
          its t-based 95 % CI, t and two-sided p on n - (number of arms) - 1 df.
        - ``partial_eta_sq`` : SS_arm / (SS_arm + SS_error), SS_arm = the
          type II sum of squares of the arm term given pre (error SS of post ~
          pre minus that of post ~ pre + arm). With a single arm term and no
          interaction type II = type III. With three or more arms it is the
          omnibus arm term, the same in each of the measure's rows.
        - ``d_ppc`` : Morris (2008) d_ppc2 for this arm (T) against the
          reference (C), from their complete cases:
          c_p [(M_post,T - M_pre,T) - (M_post,C - M_pre,C)] / SD_pre,pooled,
          SD_pre,pooled = sqrt(((n_T - 1) SD_pre,T^2 + (n_C - 1) SD_pre,C^2) /
          (n_T + n_C - 2)), c_p = 1 - 3 / (4 (n_T + n_C - 2) - 1) (Morris eq. 8 and 10).
        - ``d_ppc_ci_low``, ``d_ppc_ci_high`` : d_ppc +/- z_0.975 sqrt(var),
          var from Morris (2008) eq. 25,
          2 c_p^2 (1 - rho) ((n_T + n_C) / (n_T n_C)) ((n_T + n_C - 2) / (n_T + n_C - 4))
          (1 + Delta^2 / (2 (1 - rho) (n_T + n_C) / (n_T n_C))) - Delta^2,
          with Delta estimated by d_ppc and rho by the pooled within-group
          pre-post correlation (within-arm cross-products and sums of squares
          pooled over T and C), since eq. 25 assumes a common rho.
        - ``note`` : why values are missing.

    Raises
    ------
    AnalysisError
        Fewer than two arms in the data, or an unknown ``reference_arm``.

    References
    ----------
    Morris, S. B. (2008). Estimating effect sizes from pretest-posttest-control
    group designs. Organizational Research Methods, 11(2), 364-386.
    """
    cols = ["participant", "wave", "measure", "score", arm]
    require_columns(scores, cols, "the score table")
    if pre == post:
        raise AnalysisError(f"the pre and post waves are both {pre!r}; choose two different waves")
    table = paired_table(scores, pre, post, arm)
    if table is not None:
        labels = [str(a) for a in table.group_labels]
        arms = sorted(labels)
        measures = table.measures
        groups = np.array(labels, dtype=object)[table.group_codes]
        columns = {m: (table.column(j, 0), table.column(j, 1)) for j, m in enumerate(measures)}
    else:
        arms, measures, groups, columns = _pandas_table(scores, cols, pre, post, arm)
    if len(arms) < 2:
        found = f"only {arms[0]!r}" if arms else "none"
        raise AnalysisError(f"comparing arms needs at least two arms; found {found}")
    ref = choose_reference_arm(arms, reference_arm)
    others = [a for a in arms if a != ref]

    rows = []
    for m in measures:
        x, y = columns[m]
        rows.extend(_compare_measure(m, x, y, groups, ref, others, pre, post))
    return frame(rows, COLUMNS, strings=("measure", "arm", "reference_arm"), ints=("n",))


def _pandas_table(scores: pd.DataFrame, cols: list[str], pre: str, post: str, arm: str):
    """Arms, measures, each participant's arm and each measure's (pre, post) columns.

    The path of tables :func:`~tracker.analysis._paired.paired_table` does not take, and
    of the errors.
    """
    df = scores.loc[scores["wave"].isin([pre, post]), cols].copy()
    df["score"] = numeric(df["score"], "score")
    check_unique(df, ["participant", "wave", "measure"], "the score table")
    if df[arm].isna().any():
        who = unique_in_order(df.loc[df[arm].isna(), "participant"])[:5]
        raise AnalysisError(f"{arm} is missing for participant(s) {who}")
    df[arm] = df[arm].astype(str)
    per = df.groupby("participant", sort=False)[arm].nunique()
    if (per > 1).any():
        raise AnalysisError(
            f"participant(s) {list(per.index[per > 1][:5])} have more than one "
            f"{arm}; each participant needs one {arm}"
        )
    arms = sorted(unique_in_order(df[arm]))
    arm_of = df.drop_duplicates("participant").set_index("participant")[arm]
    wide = df.set_index(["participant", "measure", "wave"])["score"].unstack(["measure", "wave"])
    groups = arm_of.reindex(wide.index).to_numpy()
    measures = unique_in_order(df["measure"])
    return arms, measures, groups, {m: (_col(wide, m, pre), _col(wide, m, post)) for m in measures}


def _col(wide: pd.DataFrame, measure: str, wave: str) -> np.ndarray:
    if (measure, wave) in wide.columns:
        return wide[(measure, wave)].to_numpy(dtype=np.float64)
    return np.full(len(wide), np.nan)


def _compare_measure(measure, x, y, groups, ref, others, pre, post) -> list[dict]:
    nan = float("nan")
    keep = ~np.isnan(x) & ~np.isnan(y)
    if not keep.any():
        absent = [w for w, v in ((pre, x), (post, y)) if np.isnan(v).all()]
        note = join_notes(*(f"measure not recorded at wave {w}" for w in absent)) or (
            "no participant has scores at both waves"
        )
        return [
            {**dict.fromkeys(COLUMNS, nan), "measure": measure, "arm": a,
             "reference_arm": ref, "n": 0, "note": note}
            for a in others
        ]  # fmt: skip
    x, y, g = x[keep], y[keep], groups[keep]
    n = int(keep.sum())
    present = [a for a in [ref, *others] if np.any(g == a)]
    model: dict[str, dict] = {}
    eta = nan
    model_note = ""
    if ref not in present:
        model_note = f"no complete cases in the reference arm {ref}"
    elif len(present) < 2:
        model_note = "fewer than two arms with complete cases"
    else:
        model, eta, model_note = _ancova(x, y, g, ref, [a for a in others if a in present])

    rows = []
    for a in others:
        row = dict.fromkeys(COLUMNS, nan)
        row.update(measure=measure, arm=a, reference_arm=ref, n=n)
        notes = []
        if a in model:
            row.update(model[a], partial_eta_sq=eta)
        if model_note:
            notes.append(model_note)
        if a not in present:
            notes.append(f"no complete cases in arm {a}")
        t_mask, c_mask = g == a, g == ref
        d, lo, hi, d_note = morris_dppc2(x[t_mask], y[t_mask], x[c_mask], y[c_mask])
        row.update(d_ppc=d, d_ppc_ci_low=lo, d_ppc_ci_high=hi)
        notes.append(d_note)
        row["note"] = join_notes(*notes)
        rows.append(row)
    return rows


def _ancova(x, y, g, ref, arms) -> tuple[dict[str, dict], float, str]:
    """OLS post ~ pre + arm dummies; per-arm coefficient stats, partial eta^2, note."""
    nan = float("nan")
    n = len(y)
    X_reduced = np.column_stack([np.ones(n), x])
    X = np.column_stack([X_reduced] + [(g == a).astype(np.float64) for a in arms])
    p = X.shape[1]
    if n <= p:
        return {}, nan, f"too few complete cases ({n}) for the ANCOVA's {p} coefficients"
    if np.linalg.matrix_rank(X) < p:
        return {}, nan, "pre scores are constant (or collinear with arm): ANCOVA not estimable"
    sst = float(np.sum((y - y.mean()) ** 2))
    if not sst > 0:
        return {}, nan, "post scores are constant: ANCOVA undefined"
    beta, cov, sse = _ols(X, y)
    # post = pre (a baseline file imported again as post) or post = pre + c leaves only
    # rounding in the residuals; a t, p and eta^2 from them would be noise (or 0 / 0)
    if not sse > EXACT_FIT * sst:
        return (
            {},
            nan,
            "post is fitted exactly by pre and arm (no residual variance): ANCOVA undefined",
        )
    _, _, sse_reduced = _ols(X_reduced, y)
    ss_arm = max(sse_reduced - sse, 0.0)  # never below 0 but for rounding
    eta = ss_arm / (ss_arm + sse)
    df = n - p
    tq = float(t_ppf(0.975, df))
    out = {}
    for j, a in enumerate(arms, start=2):
        se = float(np.sqrt(cov[j, j]))
        t = float(beta[j]) / se
        out[a] = {
            "adj_diff": float(beta[j]),
            "ci_low": float(beta[j]) - tq * se,
            "ci_high": float(beta[j]) + tq * se,
            "t": t,
            "p": float(2.0 * t_sf(abs(t), df)),
        }
    return out, eta, ""


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares of ``y`` on full-rank ``X`` by QR: (coefficients, their covariance, residual SS).

    cov = s^2 (X'X)^-1 = s^2 R^-1 R^-T with s^2 = SSE / (n - p): the classical
    OLS covariance of R ``lm`` and statsmodels ``OLS`` (whose import is slow,
    BENCHMARKS.md, design figures; the tests compare the numbers with both).
    """
    n, p = X.shape
    Q, R = np.linalg.qr(X)
    beta = np.linalg.solve(R, Q.T @ y)
    resid = y - X @ beta
    sse = float(resid @ resid)
    R_inv = np.linalg.solve(R, np.eye(p))
    cov = (sse / (n - p)) * (R_inv @ R_inv.T)
    return beta, cov, sse


def morris_dppc2(pre_t, post_t, pre_c, post_c) -> tuple[float, float, float, str]:
    """Morris (2008) d_ppc2 and its 95 % CI from raw (complete) pre/post scores of T and C.

    See :func:`compare_arms` for the formulas. Returns (d, ci_low, ci_high, note).
    """
    nan = float("nan")
    n_t, n_c = len(pre_t), len(pre_c)
    if n_t < 2 or n_c < 2:
        return nan, nan, nan, "d_ppc needs at least 2 complete cases in each arm"
    n = n_t + n_c
    ss_pre = ((pre_t - pre_t.mean()) ** 2).sum() + ((pre_c - pre_c.mean()) ** 2).sum()
    sd_pooled = np.sqrt(ss_pre / (n - 2))
    if not sd_pooled > 0:
        return nan, nan, nan, "zero variance of pre scores: d_ppc undefined"
    c_p = 1.0 - 3.0 / (4.0 * (n - 2) - 1.0)
    change = (post_t.mean() - pre_t.mean()) - (post_c.mean() - pre_c.mean())
    d = c_p * change / sd_pooled
    if n <= 4:
        return d, nan, nan, "d_ppc CI needs more than 4 complete cases"
    ss_post = ((post_t - post_t.mean()) ** 2).sum() + ((post_c - post_c.mean()) ** 2).sum()
    sp = ((pre_t - pre_t.mean()) * (post_t - post_t.mean())).sum() + (
        (pre_c - pre_c.mean()) * (post_c - post_c.mean())
    ).sum()
    if not ss_post > 0:
        return d, nan, nan, "zero variance of post scores: d_ppc CI undefined"
    rho = sp / np.sqrt(ss_pre * ss_post)
    if not rho < 1.0:
        return d, nan, nan, "pre and post perfectly correlated: d_ppc CI undefined"
    a = 2.0 * (1.0 - rho) * n / (n_t * n_c)
    var = c_p**2 * a * ((n - 2.0) / (n - 4.0)) * (1.0 + d * d / a) - d * d
    if not var > 0:
        return d, nan, nan, "non-positive sampling variance: d_ppc CI undefined"
    half = Z975 * np.sqrt(var)
    return d, d - half, d + half, ""
