"""Random sequences of corrections, enrolments and imports on a small study (Hypothesis, stateful).

After every step, on SQLite and PostgreSQL:
* no administration points at a wave, cohort or participant that is missing or
  belongs to another study, and every participant's cohort is the study's;
* every item value ever imported is still stored with its value (renames,
  moves and day changes never lose or detach one);
* a step that succeeded added exactly one audit event per change it made (an
  import: one for the batch and one per administration it changed), and a
  refused step (a ``TrackerError``) left the whole database as it was.

Each example builds its own study (a new name) in the test's database, so the
examples do not share state. Shrinking is off: on this small state machine it
takes minutes, and the unshrunk failing sequence is printed all the same.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from tests.study.dump import dump
from tracker.db.engine import open_session
from tracker.db.models import (
    Administration,
    Cohort,
    ItemResponse,
    Participant,
    Study,
    Wave,
)
from tracker.errors import TrackerError

WAVE_NAMES = ["baseline", "post", "mid", "follow"]
COHORT_NAMES = ["A", "B", "C"]
CODES = ["P1", "P2", "P3", "P4", "P5"]
START = dt.date(2027, 3, 1)
_studies = itertools.count()
STATS: collections.Counter = (
    collections.Counter()
)  # steps by outcome, to see that the rules do reach their cases


def _machine(url: str, folder):
    class Corrections(RuleBasedStateMachine):
        @initialize()
        def build(self):
            from tracker.study.cohorts import add_cohort
            from tracker.study.instruments import add_instrument
            from tracker.study.participants import add_participant
            from tracker.study.studies import create_study
            from tracker.study.waves import add_wave

            with open_session(url) as s:
                study = create_study(s, f"Property {next(_studies)}")
                add_wave(s, study, "baseline", day=0)
                add_wave(s, study, "post", day=56)
                add_cohort(s, study, "A", arm="intervention", start=START)
                add_cohort(s, study, "B", arm="control")
                add_instrument(s, study, "pss4")
                for code in CODES[:3]:
                    add_participant(s, study, code, cohort="A", enrolled=START)
                s.commit()
                self.study_id = study.id
            self.values: dict[tuple[str, int, int], float | None] = {}
            self.files = itertools.count()

        # -- running one step ------------------------------------------------------------

        def step(self, fn, expected_events):
            """Run ``fn(session, study)`` in one transaction; check the audit (or that nothing changed)."""
            import inspect

            what = inspect.stack()[1].function
            before, events = dump(url), self._events()
            with open_session(url) as s:
                try:
                    result = fn(s, s.get(Study, self.study_id))
                    s.commit()
                except TrackerError:
                    s.rollback()
                    assert dump(url) == before
                    STATS[f"{what}: refused"] += 1
                    return None
            assert self._events() - events == expected_events(result)
            STATS[f"{what}: {'changed' if expected_events(result) else 'no change'}"] += 1
            return result

        def _events(self) -> int:
            """The events ``tracker audit`` lists for the study (the same function)."""
            from tracker.study.audit import events

            with open_session(url) as s:
                return len(events(s, s.get(Study, self.study_id)))

        def _names(self, model) -> list[str]:
            with open_session(url) as s:
                return list(
                    s.scalars(
                        select(model.name).where(model.study_id == self.study_id).order_by(model.id)
                    )
                )

        # -- rules -------------------------------------------------------------------------

        @rule(
            wave=st.sampled_from(WAVE_NAMES),
            new=st.sampled_from(WAVE_NAMES),
            day=st.none() | st.integers(-10, 90),
            window=st.none() | st.integers(0, 20),
        )
        def set_wave(self, wave, new, day, window):
            from tracker.study.waves import set_wave

            self.step(
                lambda s, st_: set_wave(s, st_, wave, new_name=new, day=day, window=window),
                lambda r: 1 if r["changes"] else 0,
            )

        @rule(name=st.sampled_from(WAVE_NAMES), day=st.integers(-10, 90))
        def add_wave(self, name, day):
            from tracker.study.waves import add_wave

            self.step(lambda s, st_: add_wave(s, st_, name, day=day), lambda r: 1)

        @rule(wave=st.sampled_from(WAVE_NAMES))
        def remove_wave(self, wave):
            from tracker.study.waves import remove_wave

            self.step(lambda s, st_: remove_wave(s, st_, wave), lambda r: 1)

        @rule(
            cohort=st.sampled_from(COHORT_NAMES),
            new=st.none() | st.sampled_from(COHORT_NAMES),
            start=st.none() | st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
            clear=st.booleans(),
        )
        def set_cohort(self, cohort, new, start, clear):
            from tracker.study.cohorts import set_cohort

            self.step(
                lambda s, st_: set_cohort(
                    s, st_, cohort, new_name=new, start=start, clear=("start",) if clear else ()
                ),
                lambda r: 1 if r else 0,
            )

        @rule(name=st.sampled_from(COHORT_NAMES))
        def add_cohort(self, name):
            from tracker.study.cohorts import add_cohort

            self.step(lambda s, st_: add_cohort(s, st_, name, arm="control"), lambda r: 1)

        @rule(cohort=st.sampled_from(COHORT_NAMES))
        def remove_cohort(self, cohort):
            from tracker.study.cohorts import remove_cohort

            self.step(lambda s, st_: remove_cohort(s, st_, cohort), lambda r: 1)

        @rule(
            code=st.sampled_from(CODES),
            cohort=st.none() | st.sampled_from(COHORT_NAMES),
            enrolled=st.none() | st.dates(dt.date(2027, 1, 1), dt.date(2027, 6, 30)),
        )
        def set_participant(self, code, cohort, enrolled):
            from tracker.study.participants import set_participant

            self.step(
                lambda s, st_: set_participant(s, st_, code, cohort=cohort, enrolled=enrolled),
                lambda r: 1 if r else 0,
            )

        @rule(
            code=st.sampled_from(CODES),
            on=st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
            undo=st.booleans(),
        )
        def withdraw_or_reinstate(self, code, on, undo):
            from tracker.study.participants import reinstate, withdraw

            if undo:
                self.step(lambda s, st_: reinstate(s, st_, code), lambda r: 1)
            else:
                self.step(lambda s, st_: withdraw(s, st_, code, reason="left", on=on), lambda r: 1)

        @rule(
            rows=st.lists(
                st.tuples(
                    st.sampled_from(CODES),
                    st.sampled_from(["A", "A", "B", "C"]),
                    st.none() | st.sampled_from([30, 40]),
                ),
                min_size=1,
                max_size=5,
                unique_by=lambda r: r[0],
            ),
            update=st.booleans(),
        )
        def enroll(self, rows, update):
            from tracker.study.roster import enroll_csv

            path = folder / f"roster{next(self.files)}.csv"
            lines = [
                "code,cohort,age"
            ]  # no enrolment date: a new code is enrolled today, a stored one keeps its date
            lines += [f"{code},{cohort},{'' if age is None else age}" for code, cohort, age in rows]
            path.write_text("\n".join(lines) + "\n")
            self.step(
                lambda s, st_: enroll_csv(s, st_, path, update=update),
                lambda r: len(r.added) + len(r.updated),
            )

        @rule(
            wave=st.sampled_from(WAVE_NAMES),
            rows=st.dictionaries(
                st.sampled_from(CODES[:4]),
                st.lists(st.none() | st.integers(0, 4), min_size=4, max_size=4),
                min_size=1,
                max_size=3,
            ),
            update=st.booleans(),
        )
        def import_responses(self, wave, rows, update):
            from tracker.ingest import import_responses

            path = folder / f"responses{next(self.files)}.csv"
            lines = ["participant,pss4_1,pss4_2,pss4_3,pss4_4"]
            lines += [
                ",".join([code] + ["" if v is None else str(v) for v in values])
                for code, values in rows.items()
            ]
            path.write_text("\n".join(lines) + "\n")
            with open_session(url) as s:
                wave_id = s.scalar(
                    select(Wave.id).where(Wave.study_id == self.study_id, Wave.name == wave)
                )
            result = self.step(
                lambda s, st_: import_responses(s, st_, path, wave=wave, fmt="wide", update=update),
                lambda r: 0 if r.unchanged else 1 + r.administrations_changed,
            )
            if result is not None:
                for code, values in rows.items():
                    if all(v is None for v in values):
                        continue  # a row without a single answer is not an administration
                    for item, value in enumerate(values, start=1):
                        self.values[(code, wave_id, item)] = None if value is None else float(value)

        # -- what must always hold -----------------------------------------------------------

        @invariant()
        def nothing_points_at_a_missing_row(self):
            if not hasattr(self, "study_id"):
                return
            with open_session(url) as s:
                waves = set(s.scalars(select(Wave.id).where(Wave.study_id == self.study_id)))
                cohorts = set(s.scalars(select(Cohort.id).where(Cohort.study_id == self.study_id)))
                people = dict(
                    s.execute(
                        select(Participant.id, Participant.cohort_id).where(
                            Participant.study_id == self.study_id
                        )
                    ).all()
                )
                assert set(people.values()) <= cohorts
                admins = s.execute(
                    select(Administration.participant_id, Administration.wave_id)
                    .join(Wave, Wave.id == Administration.wave_id)
                    .where(Wave.study_id == self.study_id)
                ).all()
                assert all(p in people and w in waves for p, w in admins)
                positions = list(
                    s.scalars(
                        select(Wave.position)
                        .where(Wave.study_id == self.study_id)
                        .order_by(Wave.day_offset)
                    )
                )
                assert positions == list(range(1, len(positions) + 1))

        @invariant()
        def no_item_value_is_lost(self):
            if not hasattr(self, "study_id"):
                return
            with open_session(url) as s:
                stored = {
                    (code, wave_id, item): value
                    for code, wave_id, item, value in s.execute(
                        select(
                            Participant.code,
                            Administration.wave_id,
                            ItemResponse.item,
                            ItemResponse.value,
                        )
                        .join(Administration, Administration.id == ItemResponse.administration_id)
                        .join(Participant, Participant.id == Administration.participant_id)
                        .where(Participant.study_id == self.study_id)
                    )
                }
            assert stored == self.values

    return Corrections


def test_random_corrections_keep_the_study_whole(db_url, tmp_path):
    # fewer examples on PostgreSQL, where each step's database dumps cost a round trip per table
    examples = 12 if db_url.startswith("sqlite") else 5
    run_state_machine_as_test(
        _machine(db_url, tmp_path),
        settings=settings(
            max_examples=examples,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )


def test_scripted_sequence_reaches_every_case(db_url, tmp_path):
    """The same machine and checks, driven through one fixed sequence in which every kind of step succeeds."""
    STATS.clear()
    machine = _machine(db_url, tmp_path)()

    def check():
        machine.nothing_points_at_a_missing_row()
        machine.no_item_value_is_lost()

    machine.build()
    steps = [
        lambda: machine.import_responses(
            "baseline", {"P1": [1, 2, 3, 4], "P2": [0, None, 1, 0]}, False
        ),
        lambda: machine.import_responses(
            "baseline", {"P1": [4, 2, 3, 4]}, False
        ),  # refused: would change a value
        lambda: machine.import_responses("baseline", {"P1": [4, 2, 3, 4]}, True),
        lambda: machine.add_wave("mid", -5),  # typed at the wrong day: it becomes the first wave
        lambda: machine.set_wave("mid", "follow", 28, 10),
        lambda: machine.set_wave("baseline", "post", None, None),  # refused: the name is taken
        lambda: machine.set_wave("post", "post", 28, None),  # refused: the day is taken
        lambda: machine.remove_wave("baseline"),  # refused: it has administrations
        lambda: machine.remove_wave("follow"),
        lambda: machine.add_cohort("C"),
        lambda: machine.set_cohort("B", "A", None, False),  # refused: the name is taken
        lambda: machine.set_cohort("C", None, dt.date(2027, 4, 1), False),
        lambda: machine.set_participant("P2", "C", dt.date(2027, 3, 2)),
        lambda: machine.remove_cohort("C"),  # refused: P2 is in it
        lambda: machine.set_participant("P2", "B", None),
        lambda: machine.remove_cohort("C"),
        lambda: machine.set_cohort("B", "C", None, True),
        lambda: machine.enroll([("P1", "A", None), ("P4", "C", 30)], False),
        lambda: machine.enroll([("P1", "C", 40)], False),  # refused: P1 is stored in A
        lambda: machine.enroll([("P1", "C", 40)], True),
        lambda: machine.withdraw_or_reinstate(
            "P3", dt.date(2027, 2, 1), False
        ),  # refused: before enrolment
        lambda: machine.withdraw_or_reinstate("P3", dt.date(2027, 5, 1), False),
        lambda: machine.import_responses(
            "post", {"P3": [1, 1, 2, 2]}, False
        ),  # refused: withdrawn, undated
        lambda: machine.withdraw_or_reinstate("P3", dt.date(2027, 5, 1), True),
        lambda: machine.import_responses("post", {"P3": [1, 1, 2, 2], "P4": [0, 0, 0, 1]}, False),
    ]
    for step in steps:
        step()
        check()
    for rule_name in (
        "set_wave",
        "add_wave",
        "remove_wave",
        "set_cohort",
        "add_cohort",
        "remove_cohort",
        "set_participant",
        "withdraw_or_reinstate",
        "enroll",
        "import_responses",
    ):
        assert STATS[f"{rule_name}: changed"] > 0, (rule_name, dict(STATS))
        assert (
            rule_name in ("add_cohort", "add_wave", "set_participant")
            or STATS[f"{rule_name}: refused"] > 0
        ), rule_name
