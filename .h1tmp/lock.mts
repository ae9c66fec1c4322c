import { FileResourceStore } from 'watch-manager';
import { mkdtempSync, readdirSync } from 'node:fs';
const dir = mkdtempSync('/tmp/h1lock-');
const a = new FileResourceStore({ directory: dir });
await a.replace('/management/v1alpha1/watchtopics/x', [], 5);
await a.apply('/management/v1alpha1/watchtopics/x', [], 6);
console.log(readdirSync(dir));
const b = new FileResourceStore({ directory: dir });
try { await b.load('/management/v1alpha1/watchtopics/x'); console.log('b loaded'); } catch (e) { console.log((e as any).code, (e as Error).message); }
await a.close();
console.log(await b.load('/management/v1alpha1/watchtopics/x'));
await b.close();
