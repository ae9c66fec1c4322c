/**
 * The mutants of the code in src/postgres/: lease rows, the coordinator, the transaction guard, the sequence store,
 * the resource store.
 */
import type { Mutant } from './mutant';
import {
  COORDINATED_MANAGER,
  COORDINATOR_HEALTH,
  LEASE_TABLE,
  POSTGRES_COORDINATOR,
  POSTGRES_RESOURCE_STORE,
  POSTGRES_SESSIONS_ENDED,
  POSTGRES_STORE,
  REPLICAS,
  REPLICA_CACHE,
  REPLICA_KILLS,
  REPLICA_WATCHES,
  RESTART,
  TRANSACTION_GUARD,
  TRANSACTION_STATEMENT,
} from './tests';

export const postgresMutants: Mutant[] = [
  // ── Lease rows (postgres/lease-table.ts) ────────────────────────────────────────────────────────────────────
  {
    // A position write does not check the lease: a deposed holder overwrites its successor's position.
    name: 'lease-write-unfenced',
    find: 'WHERE topic = $1 AND holder = $2 AND epoch = $3 AND lease_until > clock_timestamp()`,\n        limited ?',
    // The parameters stay in use (their types must be known to PostgreSQL): only the fence goes.
    replace: 'WHERE topic = $1 AND $2::text IS NOT NULL AND $3::bigint >= 0`,\n        limited ?',
    tests: [LEASE_TABLE, REPLICAS],
  },
  {
    // A lease is taken whoever holds it: two members own one topic.
    name: 'lease-acquire-steals',
    find: 'WHERE t.holder IS NULL OR t.lease_until IS NULL OR t.lease_until <= clock_timestamp()',
    replace: 'WHERE true',
    tests: [LEASE_TABLE, POSTGRES_COORDINATOR],
  },
  {
    // A takeover keeps the epoch: the deposed holder's writes still pass the fence.
    name: 'lease-epoch-not-bumped',
    find: 'epoch = t.epoch + 1,',
    replace: 'epoch = t.epoch,',
    tests: [LEASE_TABLE],
  },
  {
    // A smaller position replaces a larger one.
    name: 'lease-position-backwards',
    find: 'SET position = CASE WHEN position IS NULL OR position < $4 THEN $4 ELSE position END',
    replace: 'SET position = $4',
    tests: [LEASE_TABLE],
  },
  {
    // The renew deadline is not kept: a member cut off from the database keeps running its topics past it.
    name: 'coordinator-deadline-ignored',
    find: 'const left = Math.max(0, this.renewDeadlineMs - (this.monotonic() - sent));',
    replace: 'const left = Math.max(0, Infinity - (this.monotonic() - sent));',
    tests: [POSTGRES_COORDINATOR, REPLICAS],
  },
  {
    // A member never gives up a topic that belongs elsewhere: the first member keeps everything.
    name: 'coordinator-no-hand-off',
    find: 'if (owner !== undefined && owner !== this.memberId && owner !== h.adoptedFrom) h.lease.askHandOff();',
    replace: '',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // Wrong credentials, an unknown database or missing privileges are reported as passing I/O failures.
    name: 'pg-config-errors-untyped',
    find: 'const config = code === undefined ? undefined : CONFIG_STATES[code];',
    replace: 'const config = undefined as [string, string] | undefined;',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // A PostgresSequenceStore write moves a position backwards.
    name: 'pg-store-backwards',
    find: 'WHERE t.position IS NULL OR t.position < EXCLUDED.position',
    replace: 'WHERE true',
    tests: [POSTGRES_STORE],
  },

  // ── Coordinated watches (coordinated-watch.ts, postgres transactions, watch-tail --postgres) ─────────────────
  {
    // The position of a transactional handler is written beside its transaction, not in it: a crash between the
    // two loses the effect of an event whose position was stored.
    name: 'transaction-position-outside',
    find: 'await this.table.writePosition(this.topic, this.owner, this.epoch, position, client, leaseMs)',
    replace: 'await this.table.writePosition(this.topic, this.owner, this.epoch, position)',
    tests: [REPLICA_WATCHES, REPLICA_KILLS],
  },
  {
    // A transaction whose fenced position write found no row commits anyway: a deposed member's effect lands.
    name: 'transaction-commit-unfenced',
    find: 'throw new FencedOff(',
    replace: 'void new FencedOff(',
    tests: [REPLICA_WATCHES, REPLICA_KILLS],
  },
  {
    // The coordinator's timer never keeps the process alive: a member whose watches all stand by exits.
    name: 'coordinator-timer-unref',
    find: '{ ref: this.claims.size > 0 }',
    replace: '{ ref: false }',
    tests: [REPLICA_WATCHES],
  },
  {
    // A database failure under a transaction counts as the handler's: a restart of PostgreSQL stops the watch for good
    // (HANDLER_FAILED after maxAttempts) instead of stepping the topic down until a lease is won anew.
    name: 'transaction-database-failure-as-handler-failure',
    find: '    await this.lost(`the database failed during the transaction for position ${position}: ${errorMessage(err)}`);',
    replace: '    void [position, err];',
    tests: [COORDINATED_MANAGER],
  },
  {
    // A client inside a transaction has no error listener: a server restart mid-transaction crashes the process.
    name: 'checkout-no-error-listener',
    find: "  client.on('error', onError);\n",
    replace: '',
    tests: [REPLICA_WATCHES, POSTGRES_SESSIONS_ENDED],
  },

  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // no idle limit on the transaction after the fenced write: a member frozen before COMMIT keeps the row locked
    name: 'frozen-commit-holds-lease-row',
    find: 'position, client, leaseMs)))',
    replace: 'position, client)))',
    tests: [POSTGRES_COORDINATOR],
  },

  // ── ctx.client of a transactional handler: the guard over the transaction (issue 20, item 3) ──────────────────
  {
    // texts sent through the simple protocol: 'INSERT …; COMMIT' runs both, the COMMIT past the keyword check
    name: 'guard-simple-protocol',
    find: "      queryMode: 'extended',",
    replace: '      queryMode: undefined,',
    tests: [TRANSACTION_GUARD],
  },
  {
    // a statement that ends the transaction is sent after all
    name: 'guard-statement-unchecked',
    find: '    if (refused !== undefined)\n      throw this.refused(',
    replace: '    if (refused !== undefined)\n      void this.refused(',
    tests: [TRANSACTION_GUARD],
  },
  {
    // release() of ctx.client goes unrefused (the SDK's own release then throws after the commit)
    name: 'guard-release-allowed',
    find: "    throw this.refused(\n      'release()',",
    replace: "    void this.refused(\n      'release()',",
    tests: [TRANSACTION_GUARD],
  },
  {
    // ctx.client stays usable after the handler settled: a late query commits outside the transaction and the fence
    name: 'guard-open-after-handler',
    find: "    this.#state = 'closed';",
    replace: "    this.#state = 'open';",
    tests: [TRANSACTION_GUARD],
  },
  {
    // the outer client usable while a savepoint runs: its statements land inside the savepoint
    name: 'guard-outer-usable-in-savepoint',
    find: "    this.#state = 'suspended';",
    replace: "    this.#state = 'open';",
    tests: [TRANSACTION_GUARD],
  },
  {
    // a failed savepoint released instead of rolled back: the transaction stays aborted
    name: 'guard-savepoint-not-rolled-back',
    find: 'await this.#client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`)',
    replace: 'await this.#client.query(`RELEASE SAVEPOINT ${name}`)',
    tests: [TRANSACTION_GUARD],
  },
  {
    // the status pg holds trusted while the answer to a failed statement is still on its way (it says 'T')
    name: 'end-check-stale-status',
    find: 'told.readyForQuery === true ? told.getTransactionStatus() : null',
    replace: 'told.readyForQuery !== true ? told.getTransactionStatus() : null',
    tests: [TRANSACTION_GUARD],
  },
  {
    // a transaction that ended while its handler ran is not noticed: a committed effect is retried (twice)
    name: 'end-check-ended-ignored',
    find: "  if (state === 'ended') throw new TransactionEnded(",
    replace: "  if (state === 'closed') throw new TransactionEnded(",
    tests: [TRANSACTION_GUARD],
  },
  {
    // a handler that caught a failed statement and returned: its aborted transaction taken for a database failure
    // (the topic steps down, LEASE_LOST) instead of a failed attempt
    name: 'end-check-aborted-as-database-failure',
    find: "  if (state === 'aborted')\n",
    replace: "  if (state === 'failed')\n",
    tests: [TRANSACTION_GUARD],
  },
  {
    // a transaction committed past the guard: its position not stored after it, so the event is applied again
    name: 'slipped-commit-position-not-stored',
    find: "      else if (outcome === 'committed')",
    replace: "      else if (outcome !== 'committed')",
    tests: [TRANSACTION_GUARD],
  },
  {
    // a transaction ended past the guard treated as a plain handler failure: retried, its committed effect twice
    name: 'slipped-transaction-retried',
    find: '      if (err instanceof TransactionEnded && xid !== undefined && broken === undefined) {',
    replace: '      if (err instanceof TransactionEnded && xid !== undefined && broken !== undefined) {',
    tests: [TRANSACTION_GUARD],
  },
  {
    // COMMIT is not among the statements refused
    name: 'statement-commit-allowed',
    find: "const ENDS = new Set(['BEGIN', 'START', 'COMMIT', 'END',",
    replace: "const ENDS = new Set(['BEGIN', 'START', 'END',",
    tests: [TRANSACTION_STATEMENT, TRANSACTION_GUARD],
  },
  {
    // a leading semicolon (an empty statement PostgreSQL drops) hides a COMMIT from the check
    name: 'statement-leading-semicolon',
    find: "(c === ';' || c === '(')",
    replace: "(c === '(' || c === '(')",
    tests: [TRANSACTION_STATEMENT, TRANSACTION_GUARD],
  },
  {
    // SET [LOCAL | SESSION] TRANSACTION … let through
    name: 'statement-set-transaction-allowed',
    find: "  if (name === 'TRANSACTION' || characteristics",
    replace: "  if (name === 'TRANSACTIONS' || characteristics",
    tests: [TRANSACTION_STATEMENT],
  },

  // ── issue 20: corrupt lease rows, sessions ended by the server, a database that never answers, coordinator holes ──
  {
    // hysteresis lost: a member row seen once (a crash-looping replica) takes a share of the topics
    name: 'coordinator-member-counts-after-one-beat',
    find: 'AND (beats >= 2 OR member_id = $2)',
    replace: 'AND (beats >= 1 OR member_id = $2)',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // a COMMIT of unknown outcome throws LEASE_LOST, but the lease goes on and its row stays held
    name: 'transaction-unknown-commit-lease-kept',
    find: '      await this.lost(why);\n',
    replace: '',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // a lease taken on a row whose epoch cannot be read is kept: the row stays held by a member that cannot run it
    name: 'lease-corrupt-row-kept',
    find: 'SET holder = NULL, lease_until = NULL, updated_at = now()\n           WHERE topic = $1 AND holder = $2 AND epoch = $3::bigint',
    replace:
      'SET holder = $2, lease_until = NULL, updated_at = now()\n           WHERE topic = $1 AND holder = $2 AND epoch = $3::bigint',
    tests: [LEASE_TABLE],
  },
  {
    // an epoch at bigint's largest (its bump overflows) is a passing I/O failure, tried every round
    name: 'lease-epoch-overflow-untyped',
    find: "sqlState(err.cause) === '22003'",
    replace: "sqlState(err.cause) === '22004'",
    tests: [LEASE_TABLE],
  },
  {
    // a corrupt row seen while standing by is not told: it is taken (its epoch bumped) before anyone hears of it
    name: 'coordinator-corrupt-row-unseen',
    find: '          if (onLease !== undefined) this.fail(onLease, h);\n',
    replace: '',
    tests: [COORDINATED_MANAGER],
  },
  {
    // any failure to take a lease counts as a corrupt row: a database away for a moment stops the watch for good
    name: 'coordinator-database-blip-as-corrupt',
    find: "if (err instanceof WatchError && err.code === 'STATE_CORRUPT') this.fail(onLease, err);",
    replace: "if (err instanceof WatchError && err.code !== 'STATE_CORRUPT') this.fail(onLease, err);",
    tests: [POSTGRES_COORDINATOR, COORDINATED_MANAGER],
  },
  {
    // a claim told its row is corrupt is tried again: the row is taken (its epoch bumped) and given back every round
    name: 'coordinator-corrupt-claim-retried',
    find: 'if (this.held.has(topic) || this.failed.has(onLease) || (adoptedFrom',
    replace: 'if (this.held.has(topic) || false || (adoptedFrom',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // a start ended by close() rejects with the failure of its abandoned connect, not CLOSED
    name: 'coordinator-closed-start-untyped',
    find: "if (this.state === 'closed') throw new WatchError('CLOSED'",
    replace: "if (this.state !== 'closed') throw new WatchError('CLOSED'",
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // close() waits for a connect under way: a database that accepts TCP and never answers holds it 10 s
    name: 'pool-end-waits-for-connects',
    find: "if (state !== 'idle') client.connection.stream.destroy();",
    replace: "if (state === 'in-use') client.connection.stream.destroy();",
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // close() waits for a statement the database never answers: for ever
    name: 'pool-end-waits-for-statements',
    find: "if (state !== 'idle') client.connection.stream.destroy();",
    replace: "if (state === 'connecting') client.connection.stream.destroy();",
    tests: [COORDINATED_MANAGER],
  },
  {
    // a connect timeout is told as a bare pg message, not as the connectionString that cannot be reached
    name: 'connect-timeout-unnamed',
    find: 'err instanceof Error && CONNECT_TIMEOUT.test(err.message);',
    replace: 'err instanceof Error && CONNECT_TIMEOUT.test("");',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // connectTimeoutMs is checked and ignored: the pool waits its own 10 s
    name: 'connect-timeout-ignored',
    find: 'connectionTimeoutMillis: connectTimeoutMs }',
    replace: 'connectionTimeoutMillis: 10_000 }',
    tests: [POSTGRES_COORDINATOR],
  },
  {
    // the error listener every client of an SDK pool has from its creation
    name: 'pool-client-unlistened-from-creation',
    find: "      this.on('error', () => undefined);\n",
    replace: '',
    tests: [POSTGRES_SESSIONS_ENDED],
    equivalent:
      "a second layer: pg-pool's idle listener, its query() listener and checkout's (added in pg-pool's own callback) leave no gap today (20 runs of the termination test green without it)",
  },
  {
    // a round that failed counted as one that went through: trouble() never says so
    name: 'coordinator-failed-round-counted-good',
    find: '      if (!failed) this.lastGoodRound = started;',
    replace: '      if (!false) this.lastGoodRound = started;',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // trouble() between two rounds of a healthy member: never ready
    name: 'coordinator-trouble-without-deadline',
    find: '    if (since <= this.renewDeadlineMs) return undefined;',
    replace: '    if (since <= 0) return undefined;',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a topic changing hands called stalled after one lease instead of two
    name: 'coordinator-stall-one-lease',
    find: '    if (unheld <= 2 * this.leaseMs) return seen;',
    replace: '    if (unheld <= 1 * this.leaseMs) return seen;',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // the wait for an unheld topic restarted every round: never called stalled, never taken over
    name: 'coordinator-unheld-since-reset',
    find: 'unheldSince.set(t, this.unheldSince.get(t) ?? now)',
    replace: 'unheldSince.set(t, now)',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // held topics counted as unheld and the reverse
    name: 'coordinator-unheld-inverted',
    find: 'if (h?.holder === undefined) unheldSince.set',
    replace: 'if (h?.holder !== undefined) unheldSince.set',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a topic the hashing gives to a member that does not claim it runs nowhere for as long as that member lives
    name: 'coordinator-never-adopts',
    find: '(adoptedFrom !== undefined && !this.standby.adoptable(topic))',
    replace: '(adoptedFrom !== undefined && !false)',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a topic taken over as soon as it is called stalled: no lease for its owner to come back
    name: 'coordinator-adopts-early',
    find: 'this.monotonic() - since > 3 * this.leaseMs',
    replace: 'this.monotonic() - since > 2 * this.leaseMs',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // an adopted topic handed back to the hashing's owner, which does not claim it: stalls again, taken again
    name: 'coordinator-adopted-handed-back',
    find: 'owner !== this.memberId && owner !== h.adoptedFrom)',
    replace: 'owner !== this.memberId && true)',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a transaction's connection refused 53300 gives the lease up at once: a step-down every round
    name: 'coordinator-no-wait-for-room',
    find: '        if (!noRoom(err)) throw err;',
    replace: '        if (noRoom(err)) throw err;',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a pg.Pool the application ended taken for a passing failure: no restart, the member never runs again
    name: 'coordinator-ended-pool-not-final',
    find: '    if (!this.db.owned && this.db.pool.ending)',
    replace: '    if (this.db.owned && this.db.pool.ending)',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // trouble() judged against one renew period: a healthy member not ready between two rounds
    name: 'coordinator-trouble-deadline-short',
    find: '    if (since <= this.renewDeadlineMs) return undefined;',
    replace: '    if (since <= this.renewMs) return undefined;',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // an adopted topic kept for good: members that change never rebalance it
    name: 'coordinator-adopted-kept-for-good',
    find: 'owner !== this.memberId && owner !== h.adoptedFrom)',
    replace: 'owner !== this.memberId && h.adoptedFrom === undefined)',
    tests: [COORDINATOR_HEALTH],
  },

  // ── issue 20 #1: a restarted sequence moves the stored position back ──────────────────────────────────────
  {
    // The lease row's reset is not fenced by epoch: a holder of an older epoch moves the position back.
    name: 'restart-lease-reset-unfenced',
    find: 'SET position = $4, updated_at = now()\n         WHERE topic = $1 AND holder = $2 AND epoch = $3',
    replace: 'SET position = $4, updated_at = now()\n         WHERE topic = $1 AND holder = $2 AND epoch >= $3',
    tests: [RESTART],
  },
  {
    // The PostgreSQL store's reset only moves forward, like setSequence.
    name: 'restart-postgres-store-reset-forward-only',
    find: 'ON CONFLICT (topic) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,',
    replace:
      'ON CONFLICT (topic) DO UPDATE SET position = GREATEST(t.position, EXCLUDED.position), updated_at = now()`,',
    tests: [RESTART],
  },
  {
    // A reset fenced off (another member took the topic over) does not end the lease: the deposed holder runs on.
    name: 'restart-fenced-reset-lease-not-lost',
    find: 'position)) return true;\n    await this.lost(\n      `the reset of the position',
    replace: 'position)) return true;\n    await Promise.resolve(\n      `the reset of the position',
    tests: [RESTART],
  },
  // ── issue 23: the resource store (postgres/postgres-resource-store.ts, resource-batches.ts) ─────────────────────
  {
    // A cache under a coordinator writes through the plain store: a deposed member's writes land after its
    // successor's, and the stored position goes back.
    name: 'resource-store-fenced-unfenced',
    find: 'fenced(lease: TopicLease): ResourceStore {\n    return new FencedResourceStore(lease, {',
    replace: 'fenced(lease: TopicLease): ResourceStore {\n    return this; new FencedResourceStore(lease, {',
    tests: [REPLICA_CACHE],
  },
  {
    // Fenced writes of a store in another database than the coordinator's: never checked, they run their statements
    // in the coordinator's database (where the store's tables may not be, or be another store's).
    name: 'resource-store-fenced-database-unchecked',
    find: 'private sameDatabase = false;',
    replace: 'private sameDatabase = true;',
    tests: [REPLICA_CACHE],
  },
  {
    // No transaction: each statement commits alone, and a write that fails part way leaves resources of no position.
    name: 'resource-store-no-transaction',
    find: "await client.query('BEGIN');\n      await work(client);",
    replace: 'void client.query;\n      await work(client);',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // A replace keeps the rows the new list lacks: resources deleted meanwhile live on in the cache.
    name: 'resource-store-replace-keeps-old-rows',
    find: 'await this.position(db, topic, position);\n    await db.query(`DELETE FROM ${this.schema}.resources WHERE topic = $1`, [topic]);',
    replace: 'await this.position(db, topic, position);',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // An apply's delete removes the self link in every topic's rows, not only its own topic's.
    name: 'resource-store-delete-across-topics',
    find: 'resources WHERE topic = $1 AND self_link = ANY($2::text[])',
    replace: 'resources WHERE topic = $1 OR self_link = ANY($2::text[])',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // An upsert changes the columns but keeps the old resource: SQL and the cache disagree, and an update is lost.
    name: 'resource-store-upsert-keeps-resource',
    find: 'resource = EXCLUDED.resource',
    replace: 'resource = r.resource',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // The position is written once and never moves: a restart applies every event since the first write again.
    name: 'resource-store-position-stuck',
    find: 'DO UPDATE SET updated_at = now(), position = EXCLUDED.position',
    replace: 'DO UPDATE SET updated_at = now(), position = t.position',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // A topic stored with no resources (an empty list) loads as never stored: a restart lists it again.
    name: 'resource-store-empty-topic-lost',
    find: 'resource_topics t LEFT JOIN',
    replace: 'resource_topics t JOIN',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // A position past 2^53 - 1 (a row set by hand) is read as a nearby number: events skipped or repeated.
    name: 'resource-store-position-unchecked',
    find: 'const position = Number(rows[0]?.[0]);\n    if (!Number.isSafeInteger(position)',
    replace: 'const position = Number(rows[0]?.[0]);\n    if (!Number.isFinite(position)',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // A row's scope column names the scope's kind, not its name: SQL by scope finds nothing.
    name: 'resource-store-scope-column',
    find: "e->'metadata'->'scope'->>'name'",
    replace: "e->'metadata'->'scope'->>'kind'",
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // An apply where one self link changes twice keeps its first change (a put then its delete leaves it there).
    name: 'resource-net-changes-first-wins',
    find: 'for (const change of changes) {\n    const selfLink',
    replace: 'for (const change of changes.toReversed()) {\n    const selfLink',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // Every resource is a statement of its own: 20,000 round trips for an initial sync.
    name: 'resource-batches-one-per-statement',
    find: 'chars + text.length > BATCH_CHARS',
    replace: 'chars + text.length < BATCH_CHARS',
    tests: [POSTGRES_RESOURCE_STORE],
  },
  {
    // A resource without a self link or id reaches the database: an untyped NOT NULL failure, not a typed refusal.
    name: 'resource-store-resource-unchecked',
    find: "fields.some((field) => typeof field !== 'string' || field === '')",
    replace: "fields.every((field) => typeof field !== 'string' || field === '')",
    tests: [POSTGRES_RESOURCE_STORE],
  },
];
