import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '../core/clock';

/** The outcome of checking a bearer token. */
export type TokenCheck =
  | {
      /** The token is valid. */
      ok: true;
      /** Its expiry, epoch ms. */
      expiresAt: number;
      /** The tenant it was issued for. */
      tenantId: string;
    }
  | {
      /** The token is refused. */
      ok: false;
      /** Why. */
      reason: 'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked';
    };

/** Options of {@link FakeTokenIssuer.issue}. */
export interface IssueTokenOptions {
  /** Lifetime; `exp` is rounded down to whole seconds as JWTs carry it. @default 60000 */
  ttlMs?: number;
  /** The tenant claim (`org_guid`). @default the service's tenant */
  tenantId?: string;
  /** The subject claim. @default 'fake-agent' */
  subject?: string;
}

/**
 * Issues and checks short-lived HS256 JWTs on the fake service's clock, so that a test with a {@link FakeClock}
 * expires tokens exactly when it moves time.
 */
export class FakeTokenIssuer {
  private readonly secret = randomBytes(32);
  private readonly revoked = new Set<string>();
  private readonly expiredEarly = new Set<string>();
  /** Tokens issued so far. */
  issued = 0;

  constructor(
    private readonly clock: Clock,
    private readonly defaultTenant: string,
  ) {}

  /** A new signed JWT, valid for `ttlMs` on the service's clock. */
  async issue(options: IssueTokenOptions = {}): Promise<string> {
    const now = this.clock.now();
    const ttl = options.ttlMs ?? 60_000;
    this.issued += 1;
    return new SignJWT({ org_guid: options.tenantId ?? this.defaultTenant, n: this.issued })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(options.subject ?? 'fake-agent')
      .setIssuer('watch-manager-fake')
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor((now + ttl) / 1000))
      .sign(this.secret);
  }

  /** Refuses `token` from now on. */
  revoke(token: string): void {
    this.revoked.add(token);
  }

  /** Treats `token` as expired from now on (a stream holding it ends at once). */
  expire(token: string): void {
    this.expiredEarly.add(token);
  }

  /** Checks a token: signature, expiry on the service's clock, revocation. */
  async check(token: string | undefined): Promise<TokenCheck> {
    if (token === undefined || token === '') return { ok: false, reason: 'missing' };
    if (token.split('.').length !== 3) return { ok: false, reason: 'malformed' };
    if (this.revoked.has(token)) return { ok: false, reason: 'revoked' };
    if (this.expiredEarly.has(token)) return { ok: false, reason: 'expired' };
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        currentDate: new Date(this.clock.now()),
        clockTolerance: 0,
      });
      const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
      if (exp <= this.clock.now()) return { ok: false, reason: 'expired' };
      return { ok: true, expiresAt: exp, tenantId: typeof payload.org_guid === 'string' ? payload.org_guid : '' };
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { ok: false, reason: code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid' };
    }
  }

  /** Whether `token` was marked expired or revoked by a test. */
  isWithdrawn(token: string): boolean {
    return this.revoked.has(token) || this.expiredEarly.has(token);
  }
}
