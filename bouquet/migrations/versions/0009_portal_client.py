"""The portal's own pages as a relying party: the first-party public client `bouquet-portal`

Its one redirect URI is stored as the path `/auth/callback`: the provider resolves it against its
issuer (`BOUQUET_BASE_URL`) when it loads the client, so the portal's callback is accepted on
whatever origin the portal is served from, and nothing else is.

Revision ID: 0009
Revises: 0008
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

CLIENT_ID = 'bouquet-portal'

_client = sa.table(
    'oidc_client',
    sa.column('client_id', sa.String), sa.column('name', sa.String), sa.column('client_uri', sa.String),
    sa.column('secret_hash', sa.String), sa.column('token_endpoint_auth_method', sa.String),
    sa.column('jwks', sa.JSON), sa.column('redirect_uris', sa.JSON), sa.column('post_logout_redirect_uris', sa.JSON),
    sa.column('backchannel_logout_uri', sa.String), sa.column('grant_types', sa.JSON), sa.column('scope', sa.String),
    sa.column('first_party', sa.Boolean), sa.column('may_introspect', sa.Boolean),
    sa.column('id_token_signed_response_alg', sa.String), sa.column('owner', sa.String),
    sa.column('created_at', sa.DateTime), sa.column('created_by', sa.String),
)


def upgrade() -> None:
    op.bulk_insert(_client, [{
        'client_id': CLIENT_ID, 'name': 'Bouquet (le portail)', 'client_uri': None, 'secret_hash': None,
        'token_endpoint_auth_method': 'none', 'jwks': None, 'redirect_uris': ['/auth/callback'],
        'post_logout_redirect_uris': [], 'backchannel_logout_uri': None, 'grant_types': ['authorization_code'],
        'scope': 'openid scope_all', 'first_party': True, 'may_introspect': False,
        'id_token_signed_response_alg': 'ES256', 'owner': 'bouquet', 'created_by': 'migration 0009',
        'created_at': datetime.now(timezone.utc).replace(tzinfo=None),
    }])


def downgrade() -> None:
    op.execute(_client.delete().where(_client.c.client_id == CLIENT_ID))
