"""The study's fixed words, written once: the model roles in their order, the participant statuses.

No imports, so the CLI's option choices (``tracker --help`` must not load
SQLAlchemy) and the read side can use them; the models' check constraints are
built from them.
"""

from __future__ import annotations

#: The tiers of the conceptual model, in the order every listing, matrix and report uses.
MODEL_ROLES = ("modifiable", "intermediate", "outcome")
#: A participant's status; ``withdrawn`` carries a withdrawal date.
PARTICIPANT_STATUSES = ("active", "withdrawn")


def sql_in(column: str, words: tuple[str, ...]) -> str:
    """``column IN ('a', 'b')``: a check constraint's text from one of the tuples above."""
    return f"{column} IN ({', '.join(repr(w) for w in words)})"
