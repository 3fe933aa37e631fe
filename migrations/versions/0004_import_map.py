"""import_batch: the import map a file was read with (name, content, SHA-256)

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01

``tracker import responses FILE --map MAP.toml`` stores the map beside the
batch so that the report's provenance can show how each file was read.
Batches imported without a map keep NULL in the three columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("map_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("map_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("map_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("map_sha256")
        batch.drop_column("map_text")
        batch.drop_column("map_name")
