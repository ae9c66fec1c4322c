import { randomBytes } from 'node:crypto';
import { clientCredentialsToken } from '../auth/client-credentials';
import { systemClock, type Timer } from '../core/clock';
import { FakeWatchService } from '../testing/fake-watch-service';

/** The embedded service `watch-tail --demo` tails. */
export interface Demo {
  target: string;
  historyUrl: string;
  apiUrl: string;
  tenantId: string;
  topic: string;
  getToken: () => Promise<string>;
  stop(): Promise<void>;
}

const DEMO_TOPIC = '/management/v1alpha1/watchtopics/demo';

/**
 * Starts the fake watch service with a publisher (4 events a second), pings every 3 s and 10-second tokens from its
 * OAuth2 token endpoint (fetched with {@link clientCredentialsToken}, as an agent with a service account would), so
 * that within seconds `--log-level debug` shows pings answered and tokens refreshed in-stream.
 */
export async function startDemo(): Promise<Demo> {
  const service = await FakeWatchService.start({ topics: [DEMO_TOPIC], pingIntervalMs: 3_000 });
  let timer: Timer | undefined;
  const publish = (): void => {
    service.publish(DEMO_TOPIC);
    timer = systemClock.setTimeout(publish, 250);
  };
  publish();
  const clientSecret = randomBytes(18).toString('base64url');
  service.registerClient({ clientId: 'demo-agent', clientSecret, tokenTtlMs: 10_000 });
  const getToken = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'demo-agent', clientSecret });
  return {
    target: service.target,
    historyUrl: service.historyUrl,
    apiUrl: service.resourceApiUrl,
    tenantId: service.tenantId,
    topic: DEMO_TOPIC,
    getToken: async () => getToken(),
    async stop() {
      timer?.cancel();
      await service.stop();
    },
  };
}
