"""The schema revision this version of the tracker writes and reads."""

#: The newest migration shipped in ``migrations/versions``. Kept here so that
#: opening a database imports neither Alembic (a cost on every command) nor
#: SQLAlchemy; ``tests/db`` checks that it equals Alembic's own head.
HEAD_REVISION = "0005"
