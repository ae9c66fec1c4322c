import { spawn } from 'node:child_process';
import path from 'node:path';

/** What `bench/support/resource-service.ts` prints once it serves. */
export interface ResourceServiceInfo {
  target: string;
  historyUrl: string;
  /** `GET {resourceApiUrl}{selfLink}`. */
  resourceApiUrl: string;
  tenantId: string;
  token: string;
  /** The WatchTopic's self link; its one filter covers {@link collection}. */
  topic: string;
  /** The collection holding every resource created. */
  collection: string;
  resources: number;
  /** One resource's JSON text, as the API serves it. */
  resourceJsonBytes: number;
  /** Wall time of the publishes that created the resources. */
  publishMs: number;
  /** The service's CPU per created resource (event, history, resource state). */
  publishCpuUsPerResource: number;
  /** The service's heap growth over the publishes. */
  publishHeapMiB: number;
}

/** The resource service process, started by {@link startResourceService}. */
export interface ResourceService {
  info: ResourceServiceInfo;
  /** The service process's CPU time so far, µs. */
  cpuMicros(): Promise<number>;
  /** The resource API's counters (`FakeWatchService.resourceCounters`). */
  counters(): Promise<Record<string, number>>;
  /** Holds every answer of the resource API `ms` from now on (`ResourceFaults.delayMs`; 0 = none). */
  setDelay(ms: number): Promise<void>;
  /** Publishes an UPDATED of resource `i` (svc-i: a new spec of the same size); resolves with its sequence id. */
  update(i: number): Promise<number>;
  stop(): void;
}

/** What the resource service creates. */
export interface ResourceServiceSetup {
  /** APIServices created, one CREATED event each. */
  resources: number;
  /** Bytes of text in each one's spec. @default 1024 */
  specBytes?: number;
  /** Pad each spec so that the resource's JSON text is about this long instead of {@link specBytes}. */
  jsonBytes?: number;
}

/** Starts the fake service with the resources of `setup`, in a process of its own; resolves once it serves. */
export function startResourceService(setup: ResourceServiceSetup): Promise<ResourceService> {
  const env: Record<string, string> = {
    WM_RESOURCES: String(setup.resources),
    WM_SPEC_BYTES: String(setup.specBytes ?? 1024),
    WM_JSON_BYTES: String(setup.jsonBytes ?? 0),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'resource-service.ts')], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<(line: string) => void> = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const nextLine = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  const ask = async (command: string): Promise<string> => {
    const answer = nextLine();
    child.stdin.write(`${command}\n`);
    const line = await answer;
    const verb = command.split(' ')[0] as string;
    if (!line.startsWith(`${verb} `)) throw new Error(`resource service: ${command} answered ${line}`);
    return line.slice(verb.length + 1);
  };
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`resource service exited with ${String(code)}`)));
    void nextLine().then((line) =>
      resolve({
        info: JSON.parse(line) as ResourceServiceInfo,
        cpuMicros: async () => Number(await ask('cpu')),
        counters: async () => JSON.parse(await ask('counters')) as Record<string, number>,
        setDelay: async (ms) => void (await ask(`delay ${ms}`)),
        update: async (i) => Number(await ask(`update ${i}`)),
        stop: () => child.stdin.end(),
      }),
    );
  });
}

/** The headers of a bare client of the resource API (what the Go SDK sends). */
export function apiHeaders(info: ResourceServiceInfo): Record<string, string> {
  return {
    Authorization: `Bearer ${info.token}`,
    'X-Axway-Tenant-Id': info.tenantId,
    'Content-Type': 'application/json',
  };
}

/** A resource-benchmark manager's options against `info` (the resource API on the history port). */
export function managerOptions(info: ResourceServiceInfo): {
  target: string;
  historyUrl: string;
  apiUrl: string;
  tenantId: string;
  getToken: () => string;
  tls: false;
  logger: never;
} {
  return {
    target: info.target,
    historyUrl: info.historyUrl,
    apiUrl: info.resourceApiUrl,
    tenantId: info.tenantId,
    getToken: () => info.token,
    tls: false,
    logger: quiet,
  };
}

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;
