import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock';
import type { ProxyEndpoint } from './proxy';
import type { Environment } from './no-proxy';
import type { TokenGetter } from './token-getter';

/** OAuth2 client credentials with a client secret (sent as `client_secret_post`). */
export interface ClientSecretCredentials {
  /** The identity provider's token endpoint, for example `https://login.axway.com/auth/realms/Broker/protocol/openid-connect/token`. */
  tokenUrl: string;
  /** The service account's client id. */
  clientId: string;
  /** Its secret; scrubbed from every log line and error. */
  clientSecret: string;
  /** Space-separated scopes to ask for. @default none */
  scope?: string;
}

/**
 * OAuth2 client credentials with a signed JWT client assertion (`private_key_jwt`, RFC 7523), as the service's
 * identity provider uses for service accounts: the key never leaves the process, only a short-lived signature does.
 */
export interface ClientAssertionCredentials {
  /** The identity provider's token endpoint. */
  tokenUrl: string;
  /** The service account's client id (the assertion's issuer and subject). */
  clientId: string;
  /** The service account's private key, PEM (PKCS#8 or PKCS#1) or a KeyObject. */
  privateKey: string | Buffer | KeyObject;
  /** The key id registered with the identity provider, sent as the assertion's `kid`. */
  keyId: string;
  /** @default RS256 for RSA keys, ES256/ES384/ES512 for EC keys by curve */
  algorithm?: 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'ES512';
  /** The assertion's `aud`. @default tokenUrl */
  audience?: string;
  /** Space-separated scopes to ask for. @default none */
  scope?: string;
}

/** The credentials of an OAuth2 service account: with a client secret, or with a key that signs assertions. */
export type ClientCredentials = ClientSecretCredentials | ClientAssertionCredentials;

/**
 * What a manager given `clientCredentials` hands to the token getter it makes of them: its proxy decision and the
 * parts of its TLS settings that are not specific to the watch service (trusted CAs, minimum version: not its
 * `servername` or client certificate, which belong to the service's host), and its clock.
 */
export interface InheritedSettings {
  proxy: ProxyEndpoint | false | undefined;
  proxyEnv: Environment;
  tls: { ca: string[] | undefined; minVersion: 'TLSv1.2' | 'TLSv1.3' } | false;
  clock: Clock;
}

/** Makes the token getter of a manager's `clientCredentials` (auth/ provides it; config/ only calls it). */
export type CredentialsTokenFactory = (credentials: unknown, settings: InheritedSettings) => TokenGetter;
