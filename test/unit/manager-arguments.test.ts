import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchError } from 'watch-manager';
import { checkAgentStatus, checkHandlers, resolveIterateOptions } from '../../src/engine/manager-arguments';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

/** The INVALID_CONFIG `call` throws, its message naming `field`. */
function refused(call: () => unknown, field: RegExp): void {
  assert.throws(
    call,
    (err: unknown) => err instanceof WatchError && err.code === 'INVALID_CONFIG' && field.test(err.message),
  );
}

describe("manager-arguments: the checks of what a WatchManager's methods are handed", () => {
  it("watch()'s concurrency: 100 unless given, a whole number from 1 to 1000", () => {
    const concurrency = (options: object): number => resolveIterateOptions(options).concurrency;
    assert.equal(concurrency({}), 100);
    assert.equal(concurrency({ concurrency: 1 }), 1);
    assert.equal(concurrency({ concurrency: 1_000 }), 1_000);
    for (const value of [0, 1_001, 1.5, Number.NaN, '4'])
      refused(() => resolveIterateOptions({ concurrency: value as number }), /'options\.concurrency'/);
    refused(() => resolveIterateOptions({ concurency: 5 } as never), /'options\.concurency'/);
    refused(() => resolveIterateOptions(null as never), /'options'/);
  });

  it('its deprecated alias highWaterMark: the same setting, checked under its own name; both given are refused', () => {
    const concurrency = (options: object): number => resolveIterateOptions(options).concurrency;
    assert.equal(concurrency({ highWaterMark: 1 }), 1);
    assert.equal(concurrency({ highWaterMark: 1_000 }), 1_000);
    for (const highWaterMark of [0, 1_001, 1.5, Number.NaN])
      refused(() => resolveIterateOptions({ highWaterMark }), /'options\.highWaterMark'/);
    refused(() => resolveIterateOptions({ highWatermark: 5 } as never), /'options\.highWatermark'/);
    // Both names, even with one value: the message names both.
    for (const [c, h] of [
      [4, 8],
      [4, 4],
    ])
      refused(() => resolveIterateOptions({ concurrency: c, highWaterMark: h }), /highWaterMark.*concurrency/);
  });

  it("watch()'s maxAttempts: 1 unless given, a whole number from 1 to 100 (as registerWatch's)", () => {
    const maxAttempts = (options: object): number => resolveIterateOptions(options).maxAttempts;
    assert.equal(maxAttempts({}), 1);
    assert.equal(maxAttempts({ maxAttempts: 100 }), 100);
    for (const value of [0, 101, 2.5, '3'])
      refused(() => resolveIterateOptions({ maxAttempts: value as number }), /'options\.maxAttempts'/);
  });

  it('handlers: onEvent a function, the optional ones functions when given', () => {
    checkHandlers({ onEvent: () => undefined });
    checkHandlers({
      onEvent: () => undefined,
      onError: () => undefined,
      onResync: () => undefined,
      onLive: () => undefined,
    });
    refused(() => checkHandlers({}), /'handlers'/);
    for (const name of ['onError', 'onResync', 'onLive'])
      refused(() => checkHandlers({ onEvent: () => undefined, [name]: 'no' }), new RegExp(`'handlers\\.${name}'`));
  });

  it('an agent status: state and message strings', () => {
    checkAgentStatus({ state: 'running', message: '' });
    refused(() => checkAgentStatus({ state: 'running' } as never), /'status'/);
    refused(() => checkAgentStatus(undefined as never), /'status'/);
  });
});
