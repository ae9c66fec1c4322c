import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { captured } from './harness';
import { endsWithParent } from './watchdog';

/** A line a replica fixture printed (JSON), with the member that printed it and when. */
export interface ReplicaLine {
  event: string;
  member: string;
  topic?: string;
  epoch?: number;
  ok?: boolean;
  code?: string;
  message?: string;
  at: number;
}

/**
 * A replica fixture (test/fixtures/*-replica.ts) as a child process: its JSON lines kept as read, real signals.
 * Everything it prints goes to the suite's secret scan.
 */
export class ReplicaProcess {
  readonly lines: ReplicaLine[] = [];
  /** What it wrote to stderr. */
  stderr = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(
    readonly member: string,
    fixture: string,
    options: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, '..', 'fixtures', fixture), ...(options.args ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
    );
    endsWithParent(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += String(chunk);
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        captured.push(text);
        this.lines.push(JSON.parse(text) as ReplicaLine);
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      captured.push(String(chunk));
      this.stderr += String(chunk);
    });
  }

  /** Whether it printed a line of `event` (for `topic`, when given). */
  said(event: string, topic?: string): boolean {
    return this.lines.some((l) => l.event === event && (topic === undefined || l.topic === topic));
  }

  /** The topics it holds now, by its own lines (`won`, then `lost` or `released`). */
  holding(): Set<string> {
    const held = new Set<string>();
    for (const l of this.lines) {
      if (l.event === 'won' && l.topic !== undefined) held.add(l.topic);
      if ((l.event === 'lost' || l.event === 'released') && l.topic !== undefined) held.delete(l.topic);
    }
    return held;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
