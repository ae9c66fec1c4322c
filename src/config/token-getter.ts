/** Why {@link TokenGetter} is called. */
export interface TokenRequest {
  /**
   * True when the token held so far will not do (it is about to expire, or the service refused it): a getter that
   * caches must fetch a new one rather than hand back the cached one.
   */
  forceRefresh: boolean;
}

/**
 * Supplies the current access token (a JWT, without `Bearer `). Called again whenever a token is needed; a getter
 * that caches should honour `request.forceRefresh`.
 */
export type TokenGetter = (request: TokenRequest) => string | Promise<string>;
