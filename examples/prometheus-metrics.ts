// Metrics for Prometheus: a handler agent on the embedded fake service whose metrics go through OpenTelemetry (the
// SDK's MeterProvider) to the official Prometheus exporter, served on /metrics. Runs until SIGINT or SIGTERM.
//   npm run example:prometheus [-- <port>]        (default 9464, Prometheus' usual port for OpenTelemetry; 0: any)
//   curl -s localhost:9464/metrics | grep watch_topic
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { WatchManager } from 'watch-manager';
import { openTelemetryMetrics } from 'watch-manager/opentelemetry';
import { FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/metrics-demo';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? process.env.METRICS_PORT ?? 9464);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`usage: prometheus-metrics.ts [port]: not a port: ${process.argv[2] ?? process.env.METRICS_PORT}`);
    process.exit(2);
  }
  const service = await FakeWatchService.start({ topics: [TOPIC] });
  service.publishMany(TOPIC, 30); // history the agent catches up on

  // The exporter is a pull reader: Prometheus scrapes it, nothing is sent anywhere. Its own server is off so that
  // the application chooses the port (and may serve its health probes beside it).
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const manager = new WatchManager({
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    getToken: () => service.issueToken(),
    from: 'beginning',
    tls: false, // the fake service speaks plaintext; never do this against the real service
    telemetry: openTelemetryMetrics({ meterProvider }),
  });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') exporter.getMetricsRequestHandler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  let handled = 0;
  await manager.registerWatch(TOPIC, {
    onEvent: async () => {
      await new Promise((resolve) => setTimeout(resolve, 2)); // the agent's work
      handled += 1;
    },
  });
  await manager.ready({ timeoutMs: 30_000 }); // caught up on history, live
  const live = setInterval(() => service.publish(TOPIC), 1_000);
  console.log(
    `handled ${handled} events; metrics on http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
  );

  const stop = async (): Promise<void> => {
    clearInterval(live);
    await manager.close();
    await meterProvider.shutdown();
    server.close();
    await service.stop();
    console.log(`stopped after ${handled} events`);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
