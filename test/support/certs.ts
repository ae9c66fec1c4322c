import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A test CA and a server certificate it signed, made with openssl at test time (nothing is checked in). */
export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
  dir: string;
}

/** Makes a CA and a server certificate for `names` (DNS names; IP addresses too). */
export function makeTestCerts(names: string[]): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'wm-certs-'));
  const f = (name: string): string => path.join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=watch-manager test CA',
  );
  ssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${names[0]}`);
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(f('ext.cnf'), `subjectAltName=${san}\n`);
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
  );
  return {
    ca: readFileSync(f('ca.pem'), 'utf8'),
    cert: readFileSync(f('server.pem'), 'utf8'),
    key: readFileSync(f('server.key'), 'utf8'),
    dir,
  };
}

/** A client certificate for mutual TLS, signed by the CA of `certs`. */
export function makeClientCert(certs: TestCerts, name: string): { cert: string; key: string } {
  const f = (file: string): string => path.join(certs.dir, file);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.csr`),
    '-subj',
    `/CN=${name}`,
  );
  writeFileSync(f(`${name}.cnf`), 'extendedKeyUsage=clientAuth\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f(`${name}.pem`),
    '-days',
    '2',
    '-extfile',
    f(`${name}.cnf`),
  );
  return { cert: readFileSync(f(`${name}.pem`), 'utf8'), key: readFileSync(f(`${name}.key`), 'utf8') };
}
