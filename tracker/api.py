"""The Python API: one study, as tidy DataFrames and the records of ``tracker analyze``.

>>> import tracker
>>> study = tracker.open("sqlite:///tracker.db")            # doctest: +SKIP
>>> study.analyze.change(pre="baseline", post="post", by="arm")   # doctest: +SKIP

Every method opens its own connection and closes it again, so a
:class:`Study` can live in a Jupyter notebook for as long as the kernel does
while other people import into the same database: each call sees the data as
committed at that moment. The analyses return exactly the records that
``tracker analyze ... --format json`` prints, as a DataFrame (one row per
record, the SPEC's fields as columns, numbers at full precision, NaN where the
JSON has ``null``), followed by a ``note`` column that says why a record's
numbers are missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from tracker.ingest.api import ImportResult

__all__ = ["Analyses", "Study", "open"]


class Study:
    """One study in one database. Make it with :func:`tracker.open`."""

    def __init__(self, url: str | None, name: str):
        self.url = url
        self.name = name
        self.analyze = Analyses(self)

    def __repr__(self) -> str:
        from tracker.config import redact_url, resolve_url

        return f"<tracker.Study {self.name!r} in {redact_url(resolve_url(self.url))}>"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLAlchemy session for this database: committed when the block succeeds, else rolled back."""
        from tracker.db.engine import session_scope

        with session_scope(self.url) as session:
            yield session

    def _study(self, session: Session):
        from tracker.study.studies import resolve_study

        return resolve_study(session, self.name)

    # -- data ---------------------------------------------------------------------

    def scores(self, wave: str | None = None, layout: str = "long") -> pd.DataFrame:
        """Stored scale scores.

        ``layout="long"``: one row per administration × measure, the columns
        ``participant, cohort, arm, wave, wave_order, instrument, measure,
        score, items_answered, items_total, prorated``. ``layout="wide"``: one
        row per participant and wave, the columns ``participant, cohort, arm,
        wave`` then one column per measure (in the model's role order).
        ``wave`` limits either to one wave.
        """
        from tracker.datasets import load_scores

        if layout not in ("long", "wide"):
            raise ValueError(f"layout must be 'long' or 'wide', not {layout!r}")
        with self.session() as session:
            study = self._study(session)
            _check_wave(session, study, wave)
            long = load_scores(session, study, wave=wave)
            if layout == "long":
                return long
            from tracker.datasets import load_study_data

            order = load_study_data(
                session, study, score_waves=(), item_waves=(), administrations=False
            ).measure_order()
        return _wide_scores(long, order)

    def items(self, wave: str | None = None) -> pd.DataFrame:
        """Every stored item response, one row per administration × item (value NaN = unanswered).

        Columns: ``administration_id, participant, cohort, arm, wave,
        wave_order, instrument, item, value, completed_on``.
        """
        from tracker.datasets import load_items

        with self.session() as session:
            study = self._study(session)
            _check_wave(session, study, wave)
            return load_items(session, study, wave=wave)

    def participants(self) -> pd.DataFrame:
        """The roster: ``participant, cohort, arm, enrolled, age, birth_year, gender, role, status,
        withdrawn_on, withdrawal_reason``."""
        from tracker.datasets import load_study_data

        with self.session() as session:
            data = load_study_data(
                session, self._study(session), score_waves=(), item_waves=(), administrations=False
            )
        return data.participants

    # -- writing ------------------------------------------------------------------

    def import_responses(
        self,
        path: str | Path,
        *,
        map: str | Path | None = None,  # noqa: A002 - the SPEC's name
        wave: str | None = None,
        layout: str | None = None,
        format: str | None = None,  # noqa: A002 - the old name of layout, still accepted
        dry_run: bool = False,
        update: bool = False,
        event_map: str | Path | None = None,
        id_column: str | None = None,
        **options: Any,
    ) -> ImportResult:
        """Import one file of responses, as ``tracker import responses`` does (all or nothing).

        Raises :class:`tracker.errors.ValidationError` listing every problem
        when the file is refused; nothing is written then. Returns the
        :class:`~tracker.ingest.api.ImportResult` (counts of new, changed and
        unchanged administrations, warnings). ``map``: an import map (TOML), as
        ``--map``. ``layout``: the file's layout (wide, long, redcap, qualtrics,
        xlsx), as ``--layout`` (``format`` is its old name, as ``--format`` was).
        Further keyword options are passed to :func:`tracker.ingest.import_responses`.
        """
        from tracker.errors import TrackerError
        from tracker.ingest import import_responses

        if layout is not None and format is not None and layout != format:
            raise TrackerError(
                f"layout={layout!r} and format={format!r} disagree: give layout only"
            )
        layout = layout if layout is not None else format

        with self.session() as session:
            return import_responses(
                session,
                self._study(session),
                path,
                map=map,
                wave=wave,
                fmt=layout,
                dry_run=dry_run,
                update=update,
                event_map=event_map,
                id_column=id_column,
                **options,
            )

    def export_scores(
        self,
        out: str | Path | list,
        *,
        wave: str | None = None,
        layout: str = "wide",
        deidentify: bool = False,
        key_out: str | Path | None = None,
        codebook: str | Path | None = None,
    ):
        """Write the scores as ``tracker export scores`` does (.csv .xlsx .sav .dta .rds .parquet by suffix).

        ``out`` may be a list of files: they hold the same rows (and, de-identified,
        the same new codes). Returns the :class:`~tracker.datasets.export.ExportResult`.
        """
        from tracker.datasets.export import export_scores

        with self.session() as session:
            return export_scores(
                session,
                self.name,
                out,
                wave=wave,
                layout=layout,
                deidentify=deidentify,
                key_out=key_out,
                codebook=codebook,
            )

    def export_items(
        self,
        out: str | Path | list,
        *,
        wave: str | None = None,
        layout: str = "wide",
        deidentify: bool = False,
        key_out: str | Path | None = None,
        codebook: str | Path | None = None,
    ):
        """Write the item responses as ``tracker export items`` does (the wide layout re-imports)."""
        from tracker.datasets.export import export_items

        with self.session() as session:
            return export_items(
                session,
                self.name,
                out,
                wave=wave,
                layout=layout,
                deidentify=deidentify,
                key_out=key_out,
                codebook=codebook,
            )

    def export_codebook(
        self,
        out: str | Path,
        *,
        of: str = "scores",
        wave: str | None = None,
        layout: str = "wide",
        deidentify: bool = False,
    ):
        """Write the codebook (.csv or .html) of a scores or items export, as ``tracker export codebook``."""
        from tracker.datasets.export import export_codebook

        with self.session() as session:
            return export_codebook(
                session, self.name, out, of=of, wave=wave, layout=layout, deidentify=deidentify
            )

    def report(self, out: str | Path = "report.html", **options: Any) -> Path:
        """Write the HTML evaluation report to ``out``, as ``tracker report`` does; returns its path."""
        from tracker.reports import write_report

        with self.session() as session:
            written = write_report(session, self._study(session), out, **options)
        return written["path"]


class Analyses:
    """``study.analyze.<analysis>(...)``: the records of ``tracker analyze <analysis> --format json``."""

    def __init__(self, study: Study):
        self._study = study

    def _run(self, kind: str, **opts: Any) -> pd.DataFrame:
        from tracker.datasets.run import run_analysis

        return run_analysis(kind, self._study.url, self._study.name, **opts)

    def correlations(
        self, wave: str | None = None, method: str = "pearson", adjust: str = "holm"
    ) -> pd.DataFrame:
        """Pairwise correlations at ``wave`` (default: the first): ``x, y, method, n, r, ci_low, ci_high, p, p_adj``."""
        return self._run("correlations", wave=wave, method=method, adjust=adjust)

    def change(
        self, pre: str, post: str, by: str | None = None, adjust: str = "holm"
    ) -> pd.DataFrame:
        """Paired pre/post change per measure (``by``: None, ``"cohort"`` or ``"arm"``); the SPEC's change fields."""
        return self._run("change", pre=pre, post=post, by=by, adjust=adjust)

    def compare(self, pre: str, post: str) -> pd.DataFrame:
        """ANCOVA post ~ pre + arm and Morris's d_ppc2 per measure; the SPEC's compare fields."""
        return self._run("compare", pre=pre, post=post)

    def trajectory(self, measure: str | None = None) -> pd.DataFrame:
        """Linear mixed model over every wave: ``measure, term, estimate, se, ci_low, ci_high, p``."""
        return self._run("trajectory", measure=measure)

    def reliability(self, wave: str | None = None, boot: int = 0, seed: int = 1) -> pd.DataFrame:
        """Cronbach's alpha and omega per measure and wave: ``measure, wave, n, k, alpha, ...``.

        ``boot`` > 0 adds omega's percentile bootstrap CI (``omega_ci_low, omega_ci_high``).
        """
        return self._run("reliability", wave=wave, boot=boot, seed=seed)

    def mediation(
        self,
        x: str | None = None,
        m: str | list[str] | None = None,
        y: str | None = None,
        wave: str | None = None,
        pre: str | None = None,
        post: str | None = None,
        boot: int = 5000,
        seed: int = 1,
    ) -> pd.DataFrame:
        """Parallel mediation with percentile bootstrap CIs, as ``tracker analyze mediation``.

        Cross-sectional at ``wave`` (default: the first), or the intervention
        form with ``x="arm", pre=W1, post=W2``; without ``x``/``m``/``y`` the
        model roles. The SPEC's mediation fields.
        """
        return self._run(
            "mediation", x=x, mediators=m, y=y, wave=wave, pre=pre, post=post, boot=boot, seed=seed
        )

    def plan(
        self,
        pre: str,
        post: str,
        measure: str | list[str] | None = None,
        power: float = 0.8,
        alpha: float = 0.05,
        effect: str | float = "observed",
        attrition: str | float = "observed",
    ) -> pd.DataFrame:
        """Sample size for the next study (paired and two-arm ANCOVA designs), as ``tracker plan``."""
        return self._run(
            "plan",
            pre=pre,
            post=post,
            measure=measure,
            power=power,
            alpha=alpha,
            effect=str(effect),
            attrition=str(attrition),
        )

    def all(
        self,
        pre: str,
        post: str,
        wave: str | None = None,
        by: str | None = None,
        method: str = "pearson",
        adjust: str = "holm",
        boot: int = 5000,
        seed: int = 1,
        analyses: Sequence[str] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Every analysis from one read of the study, as ``tracker analyze all``: a dict of DataFrames.

        ``analyses``: only these (as ``--analyses``; None: every one).

        Keys: correlations, change, compare, trajectory, reliability, mediation.
        A study with one arm has no comparison, one without model roles no
        mediation: that DataFrame is empty.
        """
        import pandas as pd

        from tracker.datasets.run import ALL_ANALYSES, RECORD_FIELDS, check_analyses, run_all

        kinds = ALL_ANALYSES if analyses is None else check_analyses(list(analyses))
        done = run_all(
            self._study.url,
            self._study.name,
            pre=pre,
            post=post,
            wave=wave,
            by=by,
            method=method,
            adjust=adjust,
            boot=boot,
            seed=seed,
            analyses=kinds,
        )
        return {
            kind: done.results.get(kind, pd.DataFrame(columns=[*RECORD_FIELDS[kind], "note"]))
            for kind in kinds
        }


def open(url: str | None = None, study: str | None = None) -> Study:  # noqa: A001 - the SPEC's name
    """The study ``study`` (None: the only one) in the database at ``url``.

    ``url``: a SQLAlchemy URL or a SQLite file path; None takes
    ``$TRACKER_DATABASE_URL``, else ``./tracker.db``. Raises
    :class:`tracker.errors.TrackerError` when the database cannot be opened,
    is not at this tracker's schema revision, or holds no such study (or,
    without ``study``, more than one).
    """
    from tracker.db.engine import open_session
    from tracker.study.studies import resolve_study

    session = open_session(url)
    try:
        name = resolve_study(session, study).name
    finally:
        session.close()
    return Study(url, name)


def _check_wave(session: Session, study, wave: str | None) -> None:
    if wave is not None:
        from tracker.study.studies import get_wave

        get_wave(session, study, wave)


def _wide_scores(long: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    keys = ["participant", "cohort", "arm", "wave"]
    if long.empty:
        import pandas as pd

        return pd.DataFrame(columns=keys)
    wide = long.set_index(keys + ["wave_order", "measure"])["score"].unstack("measure")
    wide = wide.reset_index().sort_values(["participant", "wave_order"], kind="stable")
    measures = [m for m in order if m in wide.columns] + sorted(
        set(wide.columns) - set(order) - set(keys) - {"wave_order"}
    )
    out = wide[keys + measures].reset_index(drop=True)
    out.columns.name = None
    return out
