import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { transactionStatement } from '../../src/postgres/transaction-statement';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

// The statements a transactional handler's ctx.client refuses, by their leading words. Texts of several statements
// are not this check's business: the guard sends every text through the extended protocol, where PostgreSQL refuses
// them (test/transaction-guard.test.ts shows that against a real server).
describe('transactionStatement: what ends or changes a transaction', () => {
  it('refuses every statement that ends the transaction or opens or ends a savepoint, in any case', () => {
    const refused: Array<[string, string]> = [
      ['COMMIT', 'COMMIT'],
      ['commit', 'COMMIT'],
      ['Commit Work', 'COMMIT'],
      ['COMMIT AND CHAIN', 'COMMIT'],
      ['END', 'END'],
      ['end transaction', 'END'],
      ['ROLLBACK', 'ROLLBACK'],
      ['rollback to savepoint a', 'ROLLBACK TO'],
      ['ROLLBACK TO a', 'ROLLBACK TO'],
      ['ROLLBACK PREPARED $1', 'ROLLBACK PREPARED'],
      ['COMMIT PREPARED $1', 'COMMIT PREPARED'],
      ['ABORT', 'ABORT'],
      ['BEGIN', 'BEGIN'],
      ['begin isolation level serializable', 'BEGIN'],
      ['START TRANSACTION', 'START'],
      ['SAVEPOINT a', 'SAVEPOINT'],
      ['RELEASE SAVEPOINT a', 'RELEASE'],
      ['release a', 'RELEASE'],
      ["PREPARE TRANSACTION 'x'", 'PREPARE TRANSACTION'],
      ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SET TRANSACTION'],
      ['set transaction snapshot $1', 'SET TRANSACTION'],
      ['SET LOCAL TRANSACTION READ ONLY', 'SET LOCAL TRANSACTION'],
      ['SET SESSION TRANSACTION READ ONLY', 'SET SESSION TRANSACTION'],
      ['SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', 'SET SESSION CHARACTERISTICS'],
      ['SET LOCAL SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', 'SET LOCAL SESSION'],
      ['SET transaction_read_only = on', 'SET TRANSACTION_READ_ONLY'],
      ['SET LOCAL transaction_isolation TO serializable', 'SET LOCAL TRANSACTION_ISOLATION'],
      ['SET "transaction_read_only" = on', 'SET "TRANSACTION_READ_ONLY"'],
      ['set session default_transaction_read_only = on', 'SET SESSION DEFAULT_TRANSACTION_READ_ONLY'],
      ['RESET transaction_isolation', 'RESET TRANSACTION_ISOLATION'],
    ];
    for (const [text, statement] of refused) assert.equal(transactionStatement(text), statement, text);
  });

  it('finds the first word behind white space, comments (nested ones too), semicolons and parentheses', () => {
    const hidden = [
      '  \n\t COMMIT',
      '-- a comment\nCOMMIT',
      '--\r\ncommit',
      '/* a comment */ COMMIT',
      '/* outer /* inner */ still outer */COMMIT',
      '/**/COMMIT',
      '/* a */ -- b\n /* c */ COMMIT',
      '; COMMIT',
      ';;\n;COMMIT;',
      '(COMMIT)',
      'COMMIT;',
      'COMMIT-- done',
      'COMMIT/* done */',
      '\fCOMMIT\v',
    ];
    for (const text of hidden) assert.equal(transactionStatement(text), 'COMMIT', JSON.stringify(text));
  });

  it('lets every other statement through, a transaction word later in it included', () => {
    const allowed = [
      'INSERT INTO t VALUES ($1)',
      "INSERT INTO t VALUES ('COMMIT')",
      'SELECT 1; COMMIT', // two statements: PostgreSQL refuses the text in the extended protocol
      '(SELECT 1)',
      'WITH x AS (SELECT 1) SELECT * FROM x',
      'UPDATE commits SET n = 1',
      'committed', // a word that starts like one
      'beginning',
      'SELECT * FROM "COMMIT"',
      '"COMMIT"', // a quoted word is an identifier, never a keyword
      'DO $$ BEGIN COMMIT; END $$', // PostgreSQL refuses a COMMIT in a DO block inside a transaction (2D000)
      'CALL p()',
      'SET LOCAL statement_timeout = 1000',
      'SET search_path TO app',
      'SET SESSION statement_timeout = 5',
      'SET LOCAL lock_timeout = 10',
      'SET transactions_seen = 1', // not a transaction_ setting
      'SET',
      'RESET ALL',
      'PREPARE stmt AS SELECT 1',
      'PREPARE',
      'LOCK TABLE t',
      'NOTIFY ch',
      '',
      '   ',
      '-- only a comment',
      '/* unterminated COMMIT',
      '"unterminated',
      '$1',
      'é COMMIT',
    ];
    for (const text of allowed) assert.equal(transactionStatement(text), undefined, JSON.stringify(text));
  });
});
