import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore } from 'watch-manager';
import { seededRandom } from 'watch-manager/testing';
import { TOPIC, captured, scanForSecrets, startService, token } from './support/harness';
import { auditCrashRuns, startCrashConsumer, within, type AuditedRun, type ConsumerRun } from './support/crash-runs';

scanForSecrets();

describe('crash safety', () => {
  it(
    'SIGKILL at 10 random moments: nothing missing across restarts, repeats only of events in flight',
    { timeout: 100_000 },
    async (t) => {
      const service = await startService();
      const jwt = await token(service);
      const state = path.join(mkdtempSync(path.join(tmpdir(), 'wm-crash-')), 'positions.json');
      const random = seededRandom(7);
      const publisher = setInterval(() => service.publishMany(TOPIC, 5), 5);
      const runs: Array<ConsumerRun & AuditedRun> = [];
      let last = 0;
      try {
        for (let k = 0; k < 10; k++) {
          const consumer = startCrashConsumer(service, jwt, TOPIC, state);
          await within(consumer.firstEvent, 30_000, `run ${k}: the first event`);
          await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(random() * 300)));
          consumer.kill();
          const run = await within(consumer.done, 10_000, `run ${k}: the end after SIGKILL`);
          captured.push(run.stderr);
          runs.push({ ...run, positionAfter: (await FileSequenceStore.read(state))[TOPIC] ?? 0 });
        }
        clearInterval(publisher);
        last = service.topic(TOPIC)?.newestSequenceId ?? 0;
        const final = await within(startCrashConsumer(service, jwt, TOPIC, state, last).done, 60_000, 'the last run');
        captured.push(final.stderr);
        assert.equal(final.code, 0, final.stderr);
        runs.push({ ...final, positionAfter: last });
      } finally {
        clearInterval(publisher);
        await service.stop();
      }

      // Each run resumes right after the stored position, gap-free and in order; the stored position never runs ahead
      // of the output; a repeat is an event printed before the kill but not yet durably acknowledged: in flight.
      const audit = auditCrashRuns(runs, last);
      assert.deepEqual(audit.problems, []);
      runs.forEach((run, i) =>
        assert.ok(run.printed.length > 0, `run ${i} printed (it is killed after its first event)`),
      );
      // Bounded by maxUnsavedAcks (default 100) plus the event whose handler had just finished.
      audit.inFlight.forEach((n, i) => assert.ok(n <= 101, `at most 101 repeats after kill ${i}: ${n}`));
      assert.equal(audit.beyondInFlight, 0);
      assert.deepEqual(audit.lost, [], 'every published event was printed');
      t.diagnostic(
        `crash: ${last} events, 10 kills, ${audit.duplicates} repeated (in flight at a kill), per kill: ${audit.inFlight
          .slice(0, -1)
          .join(',')}`,
      );
    },
  );
});
