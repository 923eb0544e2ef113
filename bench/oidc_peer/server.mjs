// panva's oidc-provider (OpenID Certified) configured for the same round trip as Bouquet's SSO
// benchmark: code flow, PKCE S256 required, client_secret_basic, RS256 ID tokens, userinfo.
// A browser's first authorization signs it in (the interaction is completed at once for the
// account named by ?login_hint=); later ones, with the session cookie, return a code directly.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clientSecret = process.argv[3];
const redirectUri = process.argv[4];
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench', client_secret: clientSecret, redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'RS256',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true, methods: ['S256'] },
  claims: { openid: ['sub'], profile: ['name', 'family_name', 'given_name'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: 'Jean MARTIN', family_name: 'MARTIN', given_name: 'Jean' }),
  }),
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // First-party client: consent is implied, as for Bouquet's first-party clients.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    await grant.save();
    return grant;
  },
  cookies: { keys: ['bench-cookie-key-0123456789'] },
});

const callback = provider.callback();
http.createServer(async (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(req, res);
    await provider.interactionFinished(req, res, { login: { accountId: details.params.login_hint || 'bench' } },
                                       { mergeWithLastSubmission: false });
    return;
  }
  callback(req, res);
}).listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
