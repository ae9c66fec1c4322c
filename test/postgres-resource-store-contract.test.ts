import { after, before, describe, it } from 'node:test';
import { PostgresResourceStore } from 'watch-manager/postgres';
import { resourceStoreContract } from 'watch-manager/testing';
import { startPostgres, type TestPostgres } from './support/postgres';
import { scanForSecrets } from './support/harness';

scanForSecrets();

// The ResourceStore contract of watch-manager/testing run on PostgresResourceStore, as on the built-in file and
// memory stores (test/file-resource-store.test.ts): each check over a schema of its own on a real PostgreSQL started
// here, and `reopen` a new store over the same schema (a restarted process).

let pg: TestPostgres;
let schemas = 0;
/** Each store's schema, so that reopen() finds the same tables. */
const schemaOf = new WeakMap<PostgresResourceStore, string>();

function store(schema = `contract_${++schemas}`): PostgresResourceStore {
  const made = new PostgresResourceStore({ connectionString: pg.connectionString, schema });
  schemaOf.set(made, schema);
  return made;
}

describe('the ResourceStore contract: PostgresResourceStore', () => {
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });
  const checks = resourceStoreContract('PostgresResourceStore', () => store(), {
    reopen: (previous) => store(schemaOf.get(previous as PostgresResourceStore)),
  });
  for (const check of checks) it(check.name, check.run);
});
