"""programme KPIs counted afresh under 200 ms (issue 16, bench/funnel_kpis.py): `volunteer_funnels`, the funnel's
per-volunteer summary (the volunteer's mission country and language, copied; first invitation: time, month, campaign
step; opened and clicked a link-carrying e-mail; each stage from "quoted" on reached, in all and per cover), kept by
funnel.kpi_summary in the same transaction as the funnel events and the sends' opens and clicks; indexed on (month of
the first invitation, step, country, language, every flag), so a period's cohort is counted from one index range, in
its GROUP BY's order. Filled here from the raw records (funnel events, campaign sends). Campaign sends' KPI index
becomes (step, queued time, opens, clicks, volunteer): a period's opens and clicks per step are one index range per
step, in the GROUP BY's order (no sort of the period's sends). Volunteers get one on (mission start, end, country,
language): the volunteers in post each month are counted from it alone.

Revision ID: c5d2e8f1a3b7
Revises: e4c1b7a2d9f6
Create Date: 2026-12-07 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d2e8f1a3b7'
down_revision = "e4c1b7a2d9f6"
branch_labels = None
depends_on = None

# as of this revision (funnel.campaign_plan's steps carrying the personal quote link, funnel.catalogue.Cover)
LINK_STEPS = ("d10-top-up", "d20-top-up-reminder", "m3-beneficiary")
STAGES = ("quoted", "adhesion_started", "signed", "paid", "certificate_issued")
COVERS = ("health", "prevoyance")
FLAGS = ("opened", "clicked", *STAGES, *(f"{s}_{c}" for s in STAGES for c in COVERS))


def upgrade():
    op.create_table('volunteer_funnels',
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('mission_country', sa.String(length=2), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('first_invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_invited_month', sa.Date(), nullable=True),
    sa.Column('first_step', sa.String(length=32), nullable=True),
    *(sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False) for name in FLAGS),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_volunteer_funnels_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('volunteer_id', name=op.f('pk_volunteer_funnels'))
    )
    op.create_index('ix_volunteer_funnels_cohort', 'volunteer_funnels',
                    ['first_invited_month', 'first_step', 'mission_country', 'language', *FLAGS], unique=False)
    _backfill()
    op.drop_index('ix_campaign_sends_queued_step', table_name='campaign_sends')
    op.create_index('ix_campaign_sends_step_queued', 'campaign_sends',
                    ['step', 'queued_at', 'opens', 'clicks', 'volunteer_id'], unique=False)
    op.create_index('ix_volunteers_mission_period', 'volunteers',
                    ['mission_start', 'mission_end', 'mission_country', 'language'], unique=False)


def _backfill():
    steps = ", ".join(f"'{s}'" for s in LINK_STEPS)
    later = ", ".join(f"'{s}'" for s in STAGES)

    def event(stage, cover=None):
        cover_sql = f" AND (e.cover IS NULL OR e.cover = '{cover}')" if cover else ""
        return (f"EXISTS (SELECT 1 FROM funnel_events e WHERE e.volunteer_id = v.id AND e.stage = '{stage}'"
                f"{cover_sql})")

    def send(condition):
        return (f"EXISTS (SELECT 1 FROM campaign_sends s WHERE s.volunteer_id = v.id AND s.step IN ({steps}) "
                f"AND {condition})")

    # a click shows the e-mail was opened, images blocked or not (funnel.campaigns.record_click)
    values = [send("(s.opens > 0 OR s.clicks > 0)"), send("s.clicks > 0"), *(event(s) for s in STAGES),
              *(event(s, c) for s in STAGES for c in COVERS)]
    op.execute(f"""
        INSERT INTO volunteer_funnels (volunteer_id, mission_country, language, first_invited_at, {", ".join(FLAGS)})
        SELECT v.id, v.mission_country, v.language, (SELECT min(e.occurred_at) FROM funnel_events e WHERE e.volunteer_id = v.id
                      AND e.stage = 'invited'), {", ".join(values)}
        FROM volunteers v
        WHERE EXISTS (SELECT 1 FROM funnel_events e WHERE e.volunteer_id = v.id AND e.stage IN ('invited', {later}))
           OR EXISTS (SELECT 1 FROM campaign_sends s WHERE s.volunteer_id = v.id AND s.step IN ({steps})
                      AND (s.opens > 0 OR s.clicks > 0))""")
    # the first invitation's step (the first recorded, if two share the time)
    op.execute("""
        UPDATE volunteer_funnels SET first_step = (
            SELECT e.campaign_step FROM funnel_events e WHERE e.volunteer_id = volunteer_funnels.volunteer_id
            AND e.stage = 'invited' AND e.occurred_at = volunteer_funnels.first_invited_at ORDER BY e.id LIMIT 1)
        WHERE first_invited_at IS NOT NULL""")
    if op.get_bind().dialect.name == "sqlite":
        month = "date(first_invited_at, 'start of month')"
    else:
        month = "CAST(date_trunc('month', first_invited_at AT TIME ZONE 'UTC') AS date)"
    op.execute(f"UPDATE volunteer_funnels SET first_invited_month = {month} WHERE first_invited_at IS NOT NULL")


def downgrade():
    op.drop_index('ix_volunteers_mission_period', table_name='volunteers')
    op.drop_index('ix_campaign_sends_step_queued', table_name='campaign_sends')
    op.create_index('ix_campaign_sends_queued_step', 'campaign_sends',
                    ['queued_at', 'step', 'volunteer_id', 'opens', 'clicks'], unique=False)
    op.drop_index('ix_volunteer_funnels_cohort', table_name='volunteer_funnels')
    op.drop_table('volunteer_funnels')
