"""programme KPIs (funnel.kpis, found by bench/funnel_kpis.py: 14,300 volunteers, two years of events): funnel
events get an index on (stage, volunteer, time, campaign step), so each volunteer's first invitation and the stages
reached are read from the index alone; campaign sends one on (queued time, step, volunteer, opens, clicks), so a
period's opens and clicks per step are too. The programme_viewer role needs no change: roles are stored as text.

Revision ID: b16c4e8a2f30
Revises: 0d085c4d4e9b
Create Date: 2026-12-07 19:40:00

"""
from alembic import op


revision = 'b16c4e8a2f30'
down_revision = "0d085c4d4e9b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_funnel_events_stage_volunteer_occurred', 'funnel_events',
                    ['stage', 'volunteer_id', 'occurred_at', 'campaign_step'], unique=False)
    op.create_index('ix_campaign_sends_queued_step', 'campaign_sends',
                    ['queued_at', 'step', 'volunteer_id', 'opens', 'clicks'], unique=False)


def downgrade():
    op.drop_index('ix_campaign_sends_queued_step', table_name='campaign_sends')
    op.drop_index('ix_funnel_events_stage_volunteer_occurred', table_name='funnel_events')
