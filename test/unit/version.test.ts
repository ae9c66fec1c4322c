import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import '../support/harness';
import { VERSION } from 'watch-manager';

describe('VERSION', () => {
  it("is the package.json's version (from src/ as from dist/; it said 0.0.0 once its file moved a folder down)", () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });
});
