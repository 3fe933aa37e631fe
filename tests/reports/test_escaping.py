"""Every string a user supplied is escaped, in the HTML and inside the SVG charts."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

from sqlalchemy import select

from tests.factories import build_study
from tests.reports.conftest import HOSTILE
from tracker.db.models import Cohort, ImportBatch, InstrumentVersion, Participant, Wave
from tracker.reports import write_report
from tracker.study.participants import withdraw

ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39; $x$"


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_hostile_names_are_escaped_everywhere(session, tmp_path):
    study, _ = build_study(session, n_per_arm=8, instruments=("pss10", "who5"))
    study.name = f"{HOSTILE} study"
    for cohort in session.scalars(select(Cohort)):
        if cohort.arm == "intervention":
            cohort.name, cohort.arm = f"{HOSTILE} cohort", HOSTILE
        else:
            cohort.name = f"Waitlist {HOSTILE}"
    session.scalars(select(Wave).where(Wave.name == "post")).one().name = f"post {HOSTILE}"
    version = session.scalars(select(InstrumentVersion)).first()
    version.definition = {
        **version.definition,
        "name": f"{HOSTILE} scale",
        "construct": f"{HOSTILE} construct",
    }
    for p in session.scalars(select(Participant)):
        p.gender, p.role = HOSTILE, f"role {HOSTILE}"
    session.add(
        ImportBatch(
            study_id=study.id,
            file_name=f"{HOSTILE}.csv",
            sha256="0" * 64,
            format="wide",
            row_count=1,
            os_user=HOSTILE,
        )
    )
    session.flush()
    code = session.scalars(select(Participant.code)).first()
    withdraw(session, study, code, reason=f"reason {HOSTILE}", on=dt.date(2027, 3, 10))
    session.commit()

    html = write_report(session, study, tmp_path / "report.html")["path"].read_text(
        encoding="utf-8"
    )

    assert "<script" not in html.lower()
    parsed = Elements()
    parsed.feed(html)
    assert "script" not in parsed.tags
    assert not {a for a in parsed.attributes if a.startswith("on")}
    # the study, cohorts, arm, wave, instrument name and construct, gender, role, file, user, reason
    assert html.count(ESCAPED) >= 12
    for where in (
        f"{ESCAPED} study",
        f"{ESCAPED} cohort",
        f"Waitlist {ESCAPED}",
        f"{ESCAPED} scale",
        f"post {ESCAPED}",
        f"{ESCAPED}.csv",
        f"reason {ESCAPED}",
    ):
        assert where in html, where
    # inside the charts matplotlib escapes the text it draws; $...$ stays text, not mathtext
    svg = html[html.index("<svg") : html.rindex("</svg>")]
    assert "&lt;script&gt;" in svg and "$x$" in svg
