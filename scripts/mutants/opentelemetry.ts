/**
 * The mutants of the code in src/opentelemetry/: metrics, totals, the rate sampler.
 */
import type { Mutant } from './mutant';
import { OTEL, RATE_SAMPLER } from './tests';

export const opentelemetryMutants: Mutant[] = [
  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // two openTelemetryMetrics() on one provider each register the instruments: the last observation wins
    name: 'otel-instance-per-call',
    find: '    bySystem.set(system, instance);',
    replace: '',
    tests: [OTEL],
  },
  {
    // a closed watch's gauges stay exported at their last values
    name: 'gone-topic-gauges-kept',
    find: '    for (const f of out.values()) if (!f.watched) f.lagMs = 0;',
    replace: '',
    tests: [OTEL],
  },
  {
    // the global meter provider bound when openTelemetryMetrics() is called, before the SDK's setup
    name: 'otel-global-provider-bound-early',
    find: '  return {\n    attach: (read) => instanceFor(given ?? metrics.getMeterProvider(), system, perSecond).attach(read),',
    replace:
      '  const early = given ?? metrics.getMeterProvider();\n  return {\n    attach: (read) => instanceFor(early, system, perSecond).attach(read),',
    tests: [OTEL],
  },
  {
    // the sampler's stride from the rate the wrong way round: fast topics recorded in full (the hot-path cost)
    name: 'sampler-stride-inverted',
    find: '      this.stride = Math.max(1, Math.ceil(rate / this.perWindow));',
    replace: '      this.stride = Math.max(1, Math.ceil(this.perWindow / rate));',
    tests: [RATE_SAMPLER],
  },
  {
    // the run that closes a window counted in it: a topic at exactly the limit is sampled
    name: 'sampler-counts-current-run-in-closed-window',
    find: '    const now = this.now();\n    const elapsed',
    replace: '    this.inWindow += 1;\n    const now = this.now();\n    const elapsed',
    tests: [RATE_SAMPLER],
  },
];
