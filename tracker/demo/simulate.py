"""Simulated item-level responses for the demo study (pure numpy and pandas, seeded).

The model, per participant ``i``, construct ``m`` and wave ``t``:

* A latent well-being factor ``w`` drives every construct: the construct's
  latent score is ``z_m = loading_m * w + sqrt(1 - loading_m^2) * u_m``, all
  standard normal. Mindfulness, self-compassion, resilience, confidence,
  flourishing and WHO-5 load positively, perceived stress negatively, so the
  baseline correlations follow the seed study's pattern (Olson & Kemper:
  strong positive among the first group, stress negative with all).
* Across waves the latent scores are stable with correlation ``stability``:
  ``z_t = stability * z_0 + sqrt(1 - stability^2) * z_new`` (``z_new`` with the
  same factor structure), plus, in the intervention arm only, an improvement of
  ``effect_m`` SD at post and ``persistence`` times that at follow-up, in the
  construct's better direction (``higher_is_better``). The control arm is
  stable apart from noise and regression to the mean: no drift, and the new
  state draws are centred within each arm.
* Items: each keyed item is ``item_loading * z_m + noise``, put on the
  instrument's response scale around the construct's typical level, rounded
  and clipped to ``[min, max]``; the item noise is centred within each arm
  (per item and wave), so that with 40 people per arm the chance mean of the
  noise cannot pass for a change in the control arm (every person's answers
  still vary); reverse-keyed items are written reversed
  (``min + max - value``), as a respondent would answer them.
* Attrition is monotone (about 10 % missing at post, 20 % at follow-up); some
  of those who leave are formally withdrawn with a date and a reason. About
  2 % of item cells are left empty, so that proration shows.

Everything comes from one ``numpy.random.Generator(PCG64(seed))`` drawn in a
fixed order: the same seed and size give the same data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracker.instruments import InstrumentDef


@dataclass(frozen=True)
class ConstructSpec:
    """How one instrument's construct behaves in the simulation.

    ``loading`` on the well-being factor (negative for stress), ``level`` the
    typical keyed item value as a fraction of the response range, ``effect``
    the intervention's improvement at post in latent SD units.
    """

    loading: float
    level: float
    effect: float


# The seed study's measures; confidence_calm_care is the demo's own instrument.
CONSTRUCTS: dict[str, ConstructSpec] = {
    "cams_r": ConstructSpec(loading=0.93, level=0.58, effect=0.80),
    "scs_sf": ConstructSpec(loading=0.88, level=0.50, effect=0.75),
    "cd_risc10": ConstructSpec(loading=0.90, level=0.62, effect=0.50),
    "pss10": ConstructSpec(loading=-0.92, level=0.45, effect=0.65),
    "flourishing": ConstructSpec(loading=0.82, level=0.70, effect=0.55),
    "who5": ConstructSpec(loading=0.90, level=0.52, effect=0.55),
    "confidence_calm_care": ConstructSpec(loading=0.95, level=0.62, effect=0.70),
}


@dataclass(frozen=True)
class WaveSpec:
    name: str
    day: int
    window: int


WAVES = (WaveSpec("baseline", 0, 7), WaveSpec("post", 56, 14), WaveSpec("followup-3mo", 146, 21))
COHORTS = (
    ("Mindfulness course 2026", "intervention"),
    ("Waitlist control 2026", "control"),
)
START = dt.date(2026, 3, 2)

GENDERS = (("woman", 0.55), ("man", 0.38), ("non-binary", 0.03), ("", 0.04))
ROLES = (
    ("PGY-1 resident", 0.34),
    ("PGY-2 resident", 0.30),
    ("PGY-3 resident", 0.24),
    ("Chief resident", 0.05),
    ("Fellow", 0.07),
)
WITHDRAWAL_REASONS = (
    "left the programme",
    "moved to another hospital",
    "parental leave",
    "no longer wishes to take part",
    "workload",
)


@dataclass
class SimulationSettings:
    participants: int = 80
    seed: int = 2027
    stability: float = 0.80  # latent test-retest correlation between waves
    persistence: float = 0.65  # share of the post effect kept at follow-up
    control_drift: float = 0.0  # change in the waitlist arm (SD units): none, it is stable
    item_loading: float = 0.78
    missing_item_rate: float = 0.02
    dropout_post: float = 0.10
    dropout_followup: float = 0.11  # of those still in after post: ~20 % by follow-up
    withdrawn_share: float = 0.35  # of the dropouts, those formally withdrawn
    constructs: dict[str, ConstructSpec] = field(default_factory=lambda: dict(CONSTRUCTS))


@dataclass
class SimulatedStudy:
    """What the demo imports: a roster, one wide response table per wave, withdrawals.

    ``roster`` has the roster CSV columns (``code, cohort, enrolled, age, gender,
    role``) plus ``arm``. ``responses[wave]`` is the wide import layout:
    ``participant, completed`` and item columns ``<instrument>_<n>`` (NaN =
    unanswered item). ``withdrawals`` has ``participant, withdrawn_on, reason,
    after_wave`` (the last wave the participant answered).
    """

    roster: pd.DataFrame
    waves: tuple[WaveSpec, ...]
    responses: dict[str, pd.DataFrame]
    withdrawals: pd.DataFrame


def _choice(rng: np.random.Generator, options, n: int) -> np.ndarray:
    labels = np.array([o for o, _ in options], dtype=object)
    p = np.array([w for _, w in options], dtype=float)
    return labels[rng.choice(len(labels), size=n, p=p / p.sum())]


def _latent(rng: np.random.Generator, n: int, loadings: np.ndarray) -> np.ndarray:
    """``n x m`` standard-normal construct scores with one common factor."""
    w = rng.standard_normal((n, 1))
    u = rng.standard_normal((n, len(loadings)))
    return w * loadings + u * np.sqrt(1.0 - loadings**2)


def _items(
    rng: np.random.Generator,
    z: np.ndarray,
    definition: InstrumentDef,
    spec: ConstructSpec,
    settings: SimulationSettings,
    groups: tuple[np.ndarray, ...] = (),
) -> np.ndarray:
    """Item values as answered (reverse-keyed items reversed) for latent scores ``z``.

    ``groups``: boolean masks (the arms) within which each item's noise is centred.
    """
    k = definition.items
    lo, hi = float(definition.min), float(definition.max)
    # z is the construct itself (for stress: more stress), so keyed items rise with z
    # whatever the instrument's better direction.
    lam = settings.item_loading
    noise = rng.standard_normal((len(z), k))
    for group in groups:
        if group.sum() > 1:
            noise[group] -= noise[group].mean(axis=0)
    x = lam * z[:, None] + np.sqrt(1.0 - lam**2) * noise
    span = hi - lo
    values = lo + span * spec.level + x * span * 0.24
    if definition.integer:
        values = np.round(values)
    values = np.clip(values, lo, hi)
    reverse = [i - 1 for i in definition.reverse]
    values[:, reverse] = lo + hi - values[:, reverse]
    return values


def simulate(
    definitions: list[InstrumentDef], settings: SimulationSettings | None = None
) -> SimulatedStudy:
    """Simulate the demo study for the instruments ``definitions``.

    Instruments without an entry in ``settings.constructs`` are simulated with
    a loading of 0.85 in their better direction and a medium effect.
    """
    s = settings or SimulationSettings()
    rng = np.random.Generator(np.random.PCG64(s.seed))
    n = int(s.participants)
    if n < 4:
        raise ValueError("the demo needs at least 4 participants (2 per arm)")
    width = max(3, len(str(n)))
    codes = np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    treated = np.arange(n) % 2 == 0  # alternate allocation: arms of equal size
    arm = np.where(treated, COHORTS[0][1], COHORTS[1][1])
    cohort = np.where(treated, COHORTS[0][0], COHORTS[1][0])

    # -- roster -------------------------------------------------------------------
    enrolled = [START - dt.timedelta(days=int(d)) for d in rng.integers(7, 22, n)]
    age = np.clip(np.round(rng.normal(29.5, 3.2, n)), 24, 45).astype(int)
    roster = pd.DataFrame(
        {
            "code": codes,
            "cohort": cohort,
            "arm": arm,
            "enrolled": enrolled,
            "age": age,
            "gender": _choice(rng, GENDERS, n),
            "role": _choice(rng, ROLES, n),
        }
    )

    # -- latent scores per wave -----------------------------------------------------
    specs = [
        s.constructs.get(d.code, ConstructSpec(0.85 if d.higher_is_better else -0.85, 0.55, 0.5))
        for d in definitions
    ]
    loadings = np.array([sp.loading for sp in specs])
    better = np.array([1.0 if d.higher_is_better else -1.0 for d in definitions])
    effects = np.array([sp.effect for sp in specs]) * better
    z0 = _latent(rng, n, loadings)
    latent = [z0]
    for t in range(1, len(WAVES)):
        fresh = _latent(rng, n, loadings)
        # Centred within each arm: with 40 people per arm the chance mean of the new
        # state draws alone can look like a small "effect" in the control arm; the
        # arms should differ by the intervention, and by sampling error of the items.
        for group in (treated, ~treated):
            fresh[group] -= fresh[group].mean(axis=0)
        share = 1.0 if t == 1 else s.persistence
        shift = np.where(treated[:, None], effects * share, s.control_drift * better)
        latent.append(s.stability * z0 + np.sqrt(1.0 - s.stability**2) * fresh + shift)

    # -- attrition: monotone, a share of leavers formally withdrawn -------------------------
    present = np.ones((n, len(WAVES)), dtype=bool)
    leave_post = rng.random(n) < s.dropout_post
    leave_follow = ~leave_post & (rng.random(n) < s.dropout_followup)
    present[leave_post, 1:] = False
    present[leave_follow, 2:] = False
    withdraw_draw = rng.random(n) < s.withdrawn_share
    reasons = rng.choice(len(WITHDRAWAL_REASONS), size=n)
    gap = rng.integers(10, 40, n)
    withdrawals = []
    for i in np.flatnonzero((leave_post | leave_follow) & withdraw_draw):
        after = 0 if leave_post[i] else 1
        on = START + dt.timedelta(days=WAVES[after].day + int(gap[i]))
        withdrawals.append(
            {
                "participant": codes[i],
                "withdrawn_on": on,
                "reason": WITHDRAWAL_REASONS[reasons[i]],
                "after_wave": WAVES[after].name,
            }
        )
    withdrawals = pd.DataFrame(
        withdrawals, columns=["participant", "withdrawn_on", "reason", "after_wave"]
    )

    # -- item responses -------------------------------------------------------------
    responses: dict[str, pd.DataFrame] = {}
    for t, wave in enumerate(WAVES):
        offsets = rng.integers(-wave.window // 2, wave.window // 2 + 1, n)
        completed = [(START + dt.timedelta(days=wave.day + int(o))).isoformat() for o in offsets]
        columns: dict[str, object] = {"participant": codes, "completed": completed}
        for j, definition in enumerate(definitions):
            values = _items(rng, latent[t][:, j], definition, specs[j], s, (treated, ~treated))
            values[rng.random(values.shape) < s.missing_item_rate] = np.nan
            for item in range(definition.items):
                columns[f"{definition.code}_{item + 1}"] = values[:, item]
        frame = pd.DataFrame(columns)
        responses[wave.name] = frame.loc[present[:, t]].reset_index(drop=True)
    return SimulatedStudy(roster=roster, waves=WAVES, responses=responses, withdrawals=withdrawals)
