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
  it("watch()'s high-water mark: 100 unless given, a whole number from 1 to 1000", () => {
    assert.equal(resolveIterateOptions({}).highWaterMark, 100);
    assert.equal(resolveIterateOptions({ highWaterMark: 1 }).highWaterMark, 1);
    assert.equal(resolveIterateOptions({ highWaterMark: 1_000 }).highWaterMark, 1_000);
    for (const highWaterMark of [0, 1_001, 1.5, Number.NaN])
      refused(() => resolveIterateOptions({ highWaterMark }), /'options\.highWaterMark'/);
    refused(() => resolveIterateOptions({ highWatermark: 5 } as never), /'options\.highWatermark'/);
    refused(() => resolveIterateOptions(null as never), /'options'/);
  });

  it('handlers: onEvent a function, the optional ones functions when given', () => {
    checkHandlers({ onEvent: () => undefined });
    checkHandlers({
      onEvent: () => undefined,
      onError: () => undefined,
      onResync: () => undefined,
      onLive: () => undefined,
    });
    refused(() => checkHandlers({} as never), /'handlers'/);
    for (const name of ['onError', 'onResync', 'onLive'])
      refused(() => checkHandlers({ onEvent: () => undefined, [name]: 'no' }), new RegExp(`'handlers\\.${name}'`));
  });

  it('an agent status: state and message strings', () => {
    checkAgentStatus({ state: 'running', message: '' });
    refused(() => checkAgentStatus({ state: 'running' } as never), /'status'/);
    refused(() => checkAgentStatus(undefined as never), /'status'/);
  });
});
