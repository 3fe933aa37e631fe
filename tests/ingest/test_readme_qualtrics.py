"""The README's "Importing from Qualtrics" example, run command by command on generated exports.

The commands and the map are read from the README itself, so the example cannot drift from
what the tool does. The two exports (baseline, post) are current-vintage choice-text exports
of 12 participants plus one survey preview each, written here.
"""

from __future__ import annotations

import csv
import json
import random
import re
import shlex
from pathlib import Path

from tests.ingest.conftest import stored

README = Path(__file__).resolve().parents[2] / "README.md"
CODES = [f"R{n:03d}" for n in range(1, 13)]
LABELS = ["Never", "Almost never", "Sometimes", "Fairly often", "Very often"]
META = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]
ITEMS = [f"Q5_{i}" for i in range(1, 11)] + [f"Q7 Wellbeing_{i}" for i in range(1, 6)]
STUDY = """[study]
name = "Resident wellbeing 2027"
instruments = ["pss10", "who5"]
roster = "roster.csv"

[[waves]]
name = "baseline"
day = 0

[[waves]]
name = "post"
day = 56
window = 14

[[cohorts]]
name = "MBSR spring"
arm = "intervention"
start = 2027-03-01

[[cohorts]]
name = "Waitlist spring"
arm = "control"
start = 2027-03-01
"""


def _section() -> tuple[list[str], str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Importing from Qualtrics\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    commands = [line.split("  #")[0].strip() for line in blocks[0][1].splitlines() if line.strip()]
    toml = next(body for lang, body in blocks if lang == "toml")
    return commands, toml


def _export(path: Path, day: str, rng: random.Random, shift: int) -> dict:
    """Write one export; returns what it says of each participant: code -> (pss10 values, who5 values)."""
    said = {}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(META + ITEMS)
        w.writerow(META + [f"In the last month... - {i}" for i in ITEMS])
        w.writerow(
            [json.dumps({"ImportId": m[0].lower() + m[1:]}) for m in META]
            + [json.dumps({"ImportId": "QID" + i[1:].replace(" Wellbeing", "")}) for i in ITEMS]
        )
        for k, code in enumerate([""] + CODES):  # first a survey preview, with no code
            pss = [rng.randint(0, 4 - shift) for _ in range(10)]
            who = [rng.randint(shift, 5) for _ in range(5)]
            who_cells = [str(v) for v in who]
            if k == 3:
                who_cells[2], who[2] = "-99", None  # seen but not answered
            row = {
                "StartDate": f"2027-{day} 10:00:00",
                "EndDate": f"2027-{day} 10:12:00",
                "Status": "1" if not code else "0",
                "Progress": "100",
                "Finished": "1",
                "RecordedDate": f"2027-{day} 10:13:00",
                "ResponseId": f"R_{k}x",
                "ExternalReference": code,
                "DistributionChannel": "preview" if not code else "email",
                "UserLanguage": "EN",
            }
            w.writerow([row.get(m, "") for m in META] + [LABELS[v] for v in pss] + who_cells)
            if code:
                said[code] = (pss, who)
    return said


def test_the_readme_example_runs_from_export_to_report(tracker, db_url, tmp_path):
    commands, toml = _section()
    assert len(commands) <= 6 and all(c.startswith("tracker ") for c in commands)
    (tmp_path / "study.toml").write_text(STUDY)
    (tmp_path / "roster.csv").write_text(
        "code,cohort,enrolled\n"
        + "".join(
            f"{c},{'MBSR spring' if k % 2 == 0 else 'Waitlist spring'},2027-03-01\n"
            for k, c in enumerate(CODES)
        )
    )
    rng = random.Random(3)
    said = {
        "baseline": _export(tmp_path / "survey-baseline.csv", "03-03", rng, 0),
        "post": _export(tmp_path / "survey-post.csv", "04-27", rng, 1),
    }
    outputs = []
    for command in commands:
        argv = shlex.split(command)[1:]
        outputs.append(tracker(*argv).output)
        if argv[:2] == [
            "map",
            "draft",
        ]:  # the draft found the columns; the README's map is the edited one
            assert "items q5: 10 (Q5_1 .. Q5_10)" in outputs[-1]
            (tmp_path / "qualtrics.map.toml").write_text(toml)
    imports = [
        o for c, o in zip(commands, outputs, strict=True) if " import responses " in f" {c} "
    ]
    assert len(imports) == 3 and all(
        "Warning: survey-" in o
        and ": 1 of 13 responses skipped (1 survey preview, by Status or "
        "DistributionChannel) [responses_skipped]"
        in o
        for o in imports
    )
    assert (
        "Nothing was written" in imports[0]
        and "24 new administrations (180 item values)" in imports[1]
    )
    data = stored(db_url)
    assert len(data) == 48
    for wave, people in said.items():
        for code, (pss, who) in people.items():
            assert data[(code, wave, "pss10")]["values"] == {k + 1: v for k, v in enumerate(pss)}
            assert data[(code, wave, "who5")]["values"] == {k + 1: v for k, v in enumerate(who)}
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "survey-baseline.csv" in report and "qualtrics.map.toml" in report
