"""model_role.is_primary: measures marked as the study's primary outcomes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The report puts primary outcomes in their own multiplicity family (Holm) and
labels the other measures exploratory. Existing roles are not primary.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_role") as batch:
        batch.add_column(
            sa.Column(
                "is_primary",
                sa.Boolean(create_constraint=False),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("model_role") as batch:
        batch.drop_column("is_primary")
