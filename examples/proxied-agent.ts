// An agent behind an HTTP CONNECT proxy with credentials: the gRPC stream, the history API and the token endpoint
// all go through it. Give your proxy as PROXY_URL (http://user:pass@host:port; the fake service listens on
// 127.0.0.1, so the proxy must reach it), or leave it out to use the small proxy of watch-manager/testing.
//   npm run example:proxied          PROXY_URL=http://user:pass@127.0.0.1:3128 npm run example:proxied
import { WatchManager } from 'watch-manager';
import { ConnectProxy, FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/proxied-demo';

async function main(): Promise<void> {
  const service = await FakeWatchService.start({ topics: [TOPIC] });
  service.registerClient({ clientId: 'proxied-agent', clientSecret: 'example-secret-456' });
  const embedded =
    process.env.PROXY_URL === undefined
      ? await ConnectProxy.start({ user: 'agent', password: 'proxy-pw-789' })
      : undefined;
  const proxy = process.env.PROXY_URL ?? (embedded as ConnectProxy).url;

  const manager = new WatchManager({
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    proxy, // or leave it out: https_proxy / http_proxy / no_proxy then decide, read once here
    clientCredentials: {
      tokenUrl: service.tokenUrl,
      clientId: 'proxied-agent',
      clientSecret: 'example-secret-456',
    },
    from: 'beginning',
    tls: false, // the fake service speaks plaintext; never do this against the real service
  });
  service.publishMany(TOPIC, 3);
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  try {
    await manager.registerWatch(TOPIC, {
      onEvent: (event) => {
        console.log(`#${event.sequenceId} ${event.type} ${event.payload.kind}/${event.payload.name}`);
        if (++seen === 6) done();
      },
    });
    service.publishMany(TOPIC, 3);
    await finished;
    console.log(`through ${manager.toJSON().proxy}: ${seen} events`);
    if (embedded !== undefined) console.log(`tunnels: ${embedded.tunnels.length} (gRPC, history, token endpoint)`);
  } catch (err) {
    // PROXY_AUTH, PROXY_REFUSED or PROXY_UNREACHABLE name the proxy (never its password) and say why.
    console.error(`cannot watch: ${String(err)}`);
    process.exitCode = 1;
  } finally {
    await manager.close();
    await embedded?.stop();
    await service.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
