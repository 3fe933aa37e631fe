"""Pseudonymous codes and direct identifiers: what a participant code may be, which columns are refused.

Only pseudonymous codes are stored. A roster (or an import) with a column that
looks like a direct identifier (name, e-mail, phone, address, date of birth,
record number), however it is spelled ("Email Address", "Date of birth"), is
refused outright rather than silently dropped.
"""

from __future__ import annotations

import re

from tracker.study.text import NAME_MAX

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
IDENTIFIER_COLUMNS = {
    "name",
    "first_name",
    "firstname",
    "last_name",
    "lastname",
    "surname",
    "full_name",
    "fullname",
    "patient_name",
    "given_name",
    "family_name",
    "forename",
    "email",
    "e-mail",
    "e_mail",
    "mail",
    "email_address",
    "phone",
    "telephone",
    "mobile",
    "phone_number",
    "address",
    "postcode",
    "zip",
    "zip_code",
    "dob",
    "date_of_birth",
    "birth_date",
    "birthdate",
    "mrn",
    "ssn",
    "nhs_number",
    "nhs_no",
    "nhs",
}
# words that make a column an identifier wherever they appear in its name ("Patient Name", "NHS number")
_IDENTIFIER_WORDS = {
    "name",
    "firstname",
    "lastname",
    "surname",
    "fullname",
    "forename",
    "email",
    "mail",
    "phone",
    "telephone",
    "mobile",
    "address",
    "postcode",
    "dob",
    "mrn",
    "ssn",
    "nhs",
}


def is_identifier_column(column: str) -> bool:
    """Whether a column header names a direct identifier, however spaced or cased.

    ``"Email Address"``, ``"Patient Name"``, ``"Date of birth"``, ``"Phone Number"``,
    ``"NHS number"`` and ``"Full Name"`` all do; ``"birth_year"`` and ``"cohort"`` do not.
    """
    norm = re.sub(r"[\s\-]+", "_", column.strip().lower())
    if norm in IDENTIFIER_COLUMNS:
        return True
    words = [w for w in re.split(r"[^a-z0-9]+", norm) if w]
    joined = "_".join(words)
    return bool(_IDENTIFIER_WORDS.intersection(words)) or any(
        phrase in joined for phrase in ("date_of_birth", "birth_date", "e_mail")
    )


def check_code(code: str) -> str | None:
    """The reason ``code`` is not an acceptable pseudonymous code, or None."""
    if not code:
        return "is empty"
    if "@" in code:
        return "looks like an e-mail address; store pseudonymous codes only"
    if len(code) > NAME_MAX:
        return f"is {len(code)} characters long; codes may have at most {NAME_MAX}"
    if not CODE_PATTERN.fullmatch(code):
        return "must be 1-100 letters, digits, '.', '_' or '-' (no spaces), starting with a letter or digit"
    return None
