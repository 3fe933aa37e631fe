"""What a user may type into a name or a free-text field.

Decisions
---------
* **One length limit for names**: a study, cohort, wave, arm, participant
  code, gender or role is at most :data:`NAME_MAX` (100) characters; free
  text (a cohort's or study's description, a withdrawal reason) at most
  :data:`TEXT_MAX` (500). Both are checked before anything is written, so
  SQLite (which would store any length) and PostgreSQL (which would fail
  with ``DataError``) refuse the same values with the same message. Every
  column is at least as wide as its limit.
* **No contact details in free text**: gender, role, description and reason
  are stored and printed (the report shows withdrawal reasons), so a value
  holding an e-mail address or a phone-number-like string is refused with
  the reason. A phone number is a run of at least 9 digits that may be
  separated by single spaces, dots, dashes or brackets (or a ``+`` and at
  least 7 digits); ISO dates (``2027-03-01``) are not phone numbers.
"""

from __future__ import annotations

import re

from tracker.errors import TrackerError

NAME_MAX = 100
TEXT_MAX = 500

_EMAIL = re.compile(r"[^\s@<>(),;:\"']+@[^\s@<>(),;:\"']+\.[A-Za-z]{2,}")
_ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
_NUMBER_RUN = re.compile(r"(\+\s?)?\(?\d+(?:(?:[ .\-]|\) ?|\s?\()\d+)*")


def contact_details(text: str | None) -> str | None:
    """``"an e-mail address"`` or ``"a phone number"`` when ``text`` holds one, else None."""
    if not text:
        return None
    if "@" in text and _EMAIL.search(text):
        return "an e-mail address"
    for match in _NUMBER_RUN.finditer(_ISO_DATE.sub(" ", text)):
        digits = sum(ch.isdigit() for ch in match.group())
        if digits >= 9 or (match.group(1) and digits >= 7):
            return "a phone number"
    return None


def text_problem(value: str, *, limit: int) -> str | None:
    """Why ``value`` cannot be stored as free text, or None (the reason reads after "is"/"holds")."""
    if len(value) > limit:
        return f"is {len(value)} characters long; at most {limit} are allowed"
    found = contact_details(value)
    if found:
        return (
            f"looks like it holds {found}; free text is stored and printed in reports, "
            "so it must not hold contact details or other identifiers"
        )
    return None


def clean_name(value: str | None, what: str, *, limit: int = NAME_MAX) -> str:
    """``value`` stripped; :class:`TrackerError` when empty or longer than ``limit``."""
    value = (value or "").strip()
    if not value:
        raise TrackerError(f"{what} must not be empty")
    if len(value) > limit:
        raise TrackerError(
            f"{what} {value[:20]!r}… is {len(value)} characters long; names may have at most {limit}"
        )
    return value


def clean_text(value: str | None, what: str, *, limit: int = TEXT_MAX) -> str | None:
    """Optional free text stripped (None when empty); refused when too long or holding contact details."""
    value = (value or "").strip()
    if not value:
        return None
    problem = text_problem(value, limit=limit)
    if problem:
        raise TrackerError(f"{what} {problem}")
    return value
