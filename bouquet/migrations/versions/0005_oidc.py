"""oidc: the OpenID Connect provider (clients, codes, tokens, consents, signing keys, assertion ids, logout outbox)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from bouquet.foundation.db import UtcDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oidc_assertion_jti',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'jti', name='uq_oidc_assertion_jti')
    )
    with op.batch_alter_table('oidc_assertion_jti', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_assertion_jti_expires_at'), ['expires_at'], unique=False)

    op.create_table('oidc_backchannel_logout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('uri', sa.String(length=1000), nullable=False),
    sa.Column('sub', sa.String(length=100), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UtcDateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', UtcDateTime(), nullable=True),
    sa.Column('delivered_at', UtcDateTime(), nullable=True),
    sa.Column('abandoned_at', UtcDateTime(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oidc_backchannel_logout', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_backchannel_logout_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('oidc_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('client_uri', sa.String(length=500), nullable=True),
    sa.Column('secret_hash', sa.String(length=64), nullable=True),
    sa.Column('token_endpoint_auth_method', sa.String(length=40), nullable=False),
    sa.Column('jwks', sa.JSON(), nullable=True),
    sa.Column('redirect_uris', sa.JSON(), nullable=False),
    sa.Column('post_logout_redirect_uris', sa.JSON(), nullable=False),
    sa.Column('backchannel_logout_uri', sa.String(length=1000), nullable=True),
    sa.Column('grant_types', sa.JSON(), nullable=False),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('first_party', sa.Boolean(), nullable=False),
    sa.Column('may_introspect', sa.Boolean(), nullable=False),
    sa.Column('id_token_signed_response_alg', sa.String(length=10), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=True),
    sa.Column('disabled_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id')
    )
    op.create_table('oidc_signing_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=100), nullable=False),
    sa.Column('alg', sa.String(length=10), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('sealed_private_jwk', sa.Text(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('activates_at', UtcDateTime(), nullable=False),
    sa.Column('retires_at', UtcDateTime(), nullable=True),
    sa.Column('unpublish_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kid')
    )
    with op.batch_alter_table('oidc_signing_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_signing_key_alg'), ['alg'], unique=False)

    op.create_table('oidc_authorization_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('acting_for_id', sa.Integer(), nullable=True),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=False),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('nonce', sa.String(length=255), nullable=True),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=True),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('auth_time', UtcDateTime(), nullable=False),
    sa.Column('acr', sa.String(length=200), nullable=True),
    sa.Column('amr', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.Column('used_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['acting_for_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('oidc_authorization_code', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_authorization_code_client_nonce', ['client_id', 'nonce'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_authorization_code_expires_at'), ['expires_at'], unique=False)

    op.create_table('oidc_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('granted_at', UtcDateTime(), nullable=False),
    sa.Column('revoked_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'client_id', name='uq_oidc_consent_account_client')
    )
    with op.batch_alter_table('oidc_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_consent_account_id'), ['account_id'], unique=False)

    op.create_table('oidc_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('acting_for_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=True),
    sa.Column('issued_at', UtcDateTime(), nullable=False),
    sa.Column('access_expires_at', UtcDateTime(), nullable=False),
    sa.Column('refresh_expires_at', UtcDateTime(), nullable=True),
    sa.Column('refresh_used_at', UtcDateTime(), nullable=True),
    sa.Column('revoked_at', UtcDateTime(), nullable=True),
    sa.Column('revoked_reason', sa.String(length=100), nullable=True),
    sa.Column('code_id', sa.Integer(), nullable=True),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('auth_time', UtcDateTime(), nullable=True),
    sa.Column('acr', sa.String(length=200), nullable=True),
    sa.Column('amr', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['acting_for_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('access_token_hash'),
    sa.UniqueConstraint('refresh_token_hash')
    )
    with op.batch_alter_table('oidc_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_token_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_token_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_token_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_token_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_token_sid'), ['sid'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oidc_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_token_sid'))
        batch_op.drop_index(batch_op.f('ix_oidc_token_grant_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_token_code_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_token_client_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_token_account_id'))

    op.drop_table('oidc_token')
    with op.batch_alter_table('oidc_consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_consent_account_id'))

    op.drop_table('oidc_consent')
    with op.batch_alter_table('oidc_authorization_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_authorization_code_expires_at'))
        batch_op.drop_index('ix_oidc_authorization_code_client_nonce')

    op.drop_table('oidc_authorization_code')
    with op.batch_alter_table('oidc_signing_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_signing_key_alg'))

    op.drop_table('oidc_signing_key')
    op.drop_table('oidc_client')
    with op.batch_alter_table('oidc_backchannel_logout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_backchannel_logout_next_attempt_at'))

    op.drop_table('oidc_backchannel_logout')
    with op.batch_alter_table('oidc_assertion_jti', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_assertion_jti_expires_at'))

    op.drop_table('oidc_assertion_jti')
