"""Statistical analyses on tidy DataFrames (pure: pandas, numpy, scipy.special).

Each function takes DataFrames, never touches the database, and returns a
DataFrame with the columns the SPEC lists for its command (then any documented
extras: change's shares, RCI SD and criterion c, reliability's omega CI on
request) plus a final ``note`` column saying why a value is missing ("" when
nothing is).
Problems the user can fix raise :class:`tracker.errors.AnalysisError`.

The cross-sectional mediation function is ``tracker.analysis.mediation.mediation``;
it is not re-exported here, where its name would hide its module.
"""

from tracker.analysis._common import adjust_p
from tracker.analysis.change import paired_change
from tracker.analysis.compare import compare_arms
from tracker.analysis.correlations import correlations
from tracker.analysis.mediation import fit_mediation, mediation_arms
from tracker.analysis.power import plan_next_study
from tracker.analysis.reliability import item_total, reliability
from tracker.analysis.trajectory import estimated_means, trajectory

__all__ = [
    "adjust_p",
    "compare_arms",
    "correlations",
    "estimated_means",
    "item_total",
    "fit_mediation",
    "mediation_arms",
    "paired_change",
    "plan_next_study",
    "reliability",
    "trajectory",
]
