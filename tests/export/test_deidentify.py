"""--deidentify: new random codes, days since enrolment, age bands, nothing identifying left; the key."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.export.conftest import read_back, read_csv
from tracker.db.engine import open_session

STUDY_CODES = ["P001", "P002", "P003", "P004", "P005", "W001"]


def _rows(path):
    header, *body = read_csv(path)
    return [dict(zip(header, row, strict=True)) for row in body]


def test_scores_deidentified_with_key(cli, tmp_path):
    out = cli(
        "export",
        "scores",
        "--layout",
        "long",
        "--deidentify",
        "--out",
        "d.csv",
        "--out",
        "d.parquet",
        "--key-out",
        "key.csv",
    ).output
    assert (
        out.splitlines()[-1]
        == "Wrote the key of the new codes to key.csv: keep it apart from the data."
    )
    header = read_csv(tmp_path / "d.csv")[0]
    assert header == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "measure",
        "score",
        "items_answered",
        "prorated",
        "completed_day",
        "age_band",
        "gender",
        "role",
        "status",
        "withdrawn_day",
    ]
    key = dict((new, old) for new, old in read_csv(tmp_path / "key.csv")[1:])
    assert read_csv(tmp_path / "key.csv")[0] == ["export_code", "participant"]
    assert sorted(key.values()) == STUDY_CODES
    assert all(len(c) == 8 and c not in STUDY_CODES for c in key)
    cli("export", "scores", "--layout", "long", "--out", "plain.csv")
    plain = _rows(tmp_path / "plain.csv")
    shared = _rows(tmp_path / "d.csv")
    # the same rows, codes mapped through the key, ordered by the new codes
    assert [r["participant"] for r in shared] == sorted(r["participant"] for r in shared)
    as_study = sorted(
        (key[r["participant"]], r["wave"], r["measure"], r["score"], r["cohort"]) for r in shared
    )
    assert as_study == sorted(
        (r["participant"], r["wave"], r["measure"], r["score"], r["cohort"]) for r in plain
    )
    by_study = {(key[r["participant"]], r["wave"], r["measure"]): r for r in shared}
    p001 = by_study[("P001", "baseline", "who5")]
    assert (p001["completed_day"], p001["age_band"], p001["gender"], p001["role"]) == (
        "4",
        "25-29",
        "woman",
        "PGY-1 resident",
    )
    assert by_study[("P001", "post", "pss4")]["completed_day"] == "57"  # 2027-04-27 - 2027-03-01
    assert by_study[("P002", "baseline", "pss4")]["age_band"] == "90+"
    assert by_study[("P002", "baseline", "pss4")]["completed_day"] == ""  # no completion date
    # the parquet file of the same call carries the same new codes
    parquet = read_back(tmp_path / "d.parquet")
    assert list(parquet["participant"]) == [r["participant"] for r in shared]
    # nothing of the study's codes, dates or free text in the shared file
    text = (tmp_path / "d.csv").read_text()
    for secret in [*STUDY_CODES, "2027-", "1935", "1990", "moved away"]:
        assert secret not in text


def test_wide_scores_and_withdrawal(cli, tmp_path):
    cli("export", "scores", "--deidentify", "--out", "w.csv")
    header = read_csv(tmp_path / "w.csv")[0]
    assert (
        "enrolled" not in header
        and "birth_year" not in header
        and "withdrawal_reason" not in header
    )
    assert header == [
        "participant",
        "cohort",
        "arm",
        "wave",
        "mood",
        "mood.calm",
        "pss4",
        "sleep",
        "who5",
        "age_band",
        "gender",
        "role",
        "status",
        "withdrawn_day",
        "mood_completed_day",
        "pss4_completed_day",
        "sleep_completed_day",
        "who5_completed_day",
    ]
    assert [p.name for p in tmp_path.iterdir() if "key" in p.name] == []  # no key unless --key-out


def test_new_codes_every_call_and_not_from_the_code(cli, tmp_path):
    cli("export", "items", "--deidentify", "--out", "a.csv", "--key-out", "ka.csv")
    cli("export", "items", "--deidentify", "--out", "b.csv", "--key-out", "kb.csv")
    ka, kb = (dict(read_csv(tmp_path / k)[1:]) for k in ("ka.csv", "kb.csv"))
    assert set(ka).isdisjoint(kb)
    assert sorted(ka.values()) == sorted(kb.values()) == STUDY_CODES
    header = read_csv(tmp_path / "a.csv")[0]
    assert header[:4] == ["participant", "wave", "completed_day", "mood_1"]


def test_withdrawn_day_and_python_api_reuses_one_mapping(url, tmp_path):
    from sqlalchemy import select

    from tests.ingest.conftest import run_import, write
    from tracker.datasets.export import Deidentifier, export_items, export_scores
    from tracker.db.models import Participant
    from tracker.study.participants import withdraw
    from tracker.study.studies import resolve_study

    with open_session(url) as s:
        s.scalars(select(Participant).where(Participant.code == "P003")).one().age = 3
        s.commit()
    run_import(
        url,
        write(
            tmp_path,
            "p3.csv",
            "participant,wave,completed,pss4_1,pss4_2,pss4_3,pss4_4\n"
            "P003,baseline,2027-03-02,1,1,1,1\n",
        ),
    )
    with open_session(url) as s:
        withdraw(s, resolve_study(s), "P003", reason="sick", on=dt.date(2027, 3, 31))
        s.commit()
        mapping = Deidentifier.new(s, "Ingest")
        export_scores(s, "Ingest", tmp_path / "s.csv", layout="long", deidentify=mapping)
        export_items(s, "Ingest", tmp_path / "i.csv", layout="long", deidentify=mapping)
        s.commit()
    code = mapping.codes["P003"]
    rows = [r for r in _rows(tmp_path / "s.csv") if r["participant"] == code]
    assert rows and all(
        r["withdrawn_day"] == "30" and r["status"] == "withdrawn" and r["age_band"] == "0-4"
        for r in rows
    )
    assert {r["participant"] for r in _rows(tmp_path / "i.csv")} <= set(mapping.codes.values())
    assert code in {r["participant"] for r in _rows(tmp_path / "i.csv")}


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-4"),
        (4, "0-4"),
        (5, "5-9"),
        (29, "25-29"),
        (89, "85-89"),
        (90, "90+"),
        (120, "90+"),
        (None, None),
    ],
)
def test_age_bands(age, band):
    from tracker.datasets.export import age_band

    assert age_band(age) == band
