import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeadLetterSpool, MemorySequenceStore, WatchManager, type WatchError, type WatchEvent } from 'watch-manager';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';
import { interceptWrites } from '../src/state/durable-file';

scanForSecrets();

const dir = (): string => path.join(mkdtempSync(path.join(tmpdir(), 'wm-dlq-')), 'spool');

describe('dead-letter spool', () => {
  it('retries, then sets the event aside and moves on; list, redrive and removal after success', async () => {
    const service = await startService();
    const jwt = await token(service);
    const store = new MemorySequenceStore();
    const spoolDir = dir();
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      sequenceProvider: store,
      deadLetterDir: spoolDir,
    });
    const got: number[] = [];
    const errors: WatchError[] = [];
    let attempts = 0;
    await manager.registerWatch(
      TOPIC,
      {
        onEvent: (e) => {
          if (e.payload.name === 'poison') {
            attempts += 1;
            throw new Error('cannot apply poison');
          }
          got.push(e.sequenceId);
        },
        onError: (e) => void errors.push(recordError(e)),
      },
      { maxAttempts: 3 },
    );
    service.publish(TOPIC, { name: 'fine-1' });
    const poison = service.publish(TOPIC, { name: 'poison' });
    const after = service.publish(TOPIC, { name: 'fine-2' });
    await service.waitFor(() => got.includes(after.sequenceId), 10_000, 'delivery went on past the poison event');
    assert.equal(attempts, 3);
    assert.equal(store.getSequence(TOPIC), after.sequenceId, 'the watermark moved past the set-aside event');
    assert.equal(manager.metrics().watches[0]?.deadLettered, 1);
    assert.deepEqual(errors, [], 'a set-aside event does not stop the watch');

    const spool = manager.deadLetters as DeadLetterSpool;
    const [letter, ...rest] = await spool.list();
    assert.deepEqual(rest, []);
    assert.equal(letter?.event.sequenceId, poison.sequenceId);
    assert.deepEqual(letter?.event, poison);
    assert.equal(letter?.attempts, 3);
    assert.equal(letter?.error.message, 'cannot apply poison');

    assert.deepEqual(
      await spool.redrive(() => {
        throw new Error('still broken');
      }),
      { redriven: 0, failed: 1 },
    );
    assert.equal((await spool.list()).length, 1, 'a failed redrive keeps the entry');
    const redriven: WatchEvent[] = [];
    assert.deepEqual(await spool.redrive((e) => void redriven.push(e)), { redriven: 1, failed: 0 });
    assert.deepEqual(redriven, [poison]);
    assert.deepEqual(await spool.list(), [], 'removed after success');
    await manager.close();
    await service.stop();
  });

  it('recovery pass: partial and torn files a crash left are set aside in quarantine/, never read as entries', async () => {
    const spoolDir = dir();
    const spool = new DeadLetterSpool(spoolDir);
    const event = { ...(await startAndPublish()), topic: TOPIC };
    const good = await spool.add(event, new Error('x'), 2, 1);
    writeFileSync(path.join(spoolDir, `${good.id}.tmp-123-1`), '{"format":"watch-manager.dead-letter","vers');
    writeFileSync(
      path.join(spoolDir, '000000000000-0000000000000099.json'),
      '{"format":"watch-manager.dead-letter","version":1,"topic"',
    );
    const fresh = new DeadLetterSpool(spoolDir);
    const listed = await fresh.list();
    assert.deepEqual(
      listed.map((l) => l.id),
      [good.id],
    );
    const quarantined = readdirSync(path.join(spoolDir, 'quarantine'));
    assert.equal(quarantined.length, 2);
    assert.ok(existsSync(path.join(spoolDir, good.id)));
  });

  it('a whole, well-formed entry whose checksum fails (a field edited by hand) is quarantined, never listed or redriven', async () => {
    const spoolDir = dir();
    const spool = new DeadLetterSpool(spoolDir);
    const event = { ...(await startAndPublish()), topic: TOPIC };
    const good = await spool.add(event, new Error('x'), 2, 1);
    const edited = await spool.add({ ...event, sequenceId: event.sequenceId + 1 }, new Error('y'), 2, 2);
    const file = path.join(spoolDir, edited.id);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"attempts":2', '"attempts":3'));
    const fresh = new DeadLetterSpool(spoolDir);
    assert.deepEqual(
      (await fresh.list()).map((l) => l.id),
      [good.id],
    );
    let redriven = 0;
    await fresh.redrive(() => void (redriven += 1));
    assert.equal(redriven, 1, 'only the entry that reads back whole');
    assert.equal(readdirSync(path.join(spoolDir, 'quarantine')).length, 1);
  });

  it('an interrupted write leaves no entry; a spool that cannot be written stops the watch (HANDLER_FAILED)', async () => {
    const spoolDir = dir();
    const event = { ...(await startAndPublish()), topic: TOPIC };
    for (const step of ['open', 'write', 'sync', 'rename'] as const) {
      const crashing = new DeadLetterSpool(spoolDir);
      interceptWrites(crashing, (s) => {
        if (s === step) throw new Error(`crash before ${s}`);
      });
      await assert.rejects(crashing.add(event, new Error('x'), 1, 1), { code: 'STATE_IO' });
      assert.deepEqual(
        await new DeadLetterSpool(spoolDir).list(),
        [],
        `nothing half-written after a crash before ${step}`,
      );
    }

    const service = await startService();
    const jwt = await token(service);
    const blocked = path.join(mkdtempSync(path.join(tmpdir(), 'wm-dlq-')), 'file');
    writeFileSync(blocked, 'a file where the directory should be');
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      deadLetterDir: blocked,
    });
    const errors: WatchError[] = [];
    await manager.registerWatch(
      TOPIC,
      {
        onEvent: () => {
          throw new Error('always');
        },
        onError: (e) => void errors.push(recordError(e)),
      },
      { maxAttempts: 1 },
    );
    service.publish(TOPIC);
    await service.waitFor(() => errors.length > 0, 5_000, 'failure');
    assert.equal(errors[0]?.code, 'HANDLER_FAILED');
    assert.equal(manager.status().watches[0]?.lastSequenceId, 0, 'never dropped: the position stays before it');
    await manager.close();
    await service.stop();
  });
});

async function startAndPublish(): Promise<WatchEvent> {
  const service = await startService();
  const event = service.publish(TOPIC);
  await service.stop();
  return event;
}
