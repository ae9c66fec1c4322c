/**
 * The mutants of `npm run mutate` (scripts/mutate.ts), one file per area of src/ (the folder whose code they
 * mutate): see mutant.ts for what a mutant is.
 */
import { deliveryMutants } from './delivery';
import { historyMutants } from './history';
import { engineMutants } from './engine';
import { coreMutants } from './core';
import { authMutants } from './auth';
import { transportMutants } from './transport';
import { postgresMutants } from './postgres';
import { stateMutants } from './state';
import { resourceStoreMutants } from './resource-store';
import { loggingMutants } from './logging';
import { configMutants } from './config';
import { cliMutants } from './cli';
import { healthMutants } from './health';
import { opentelemetryMutants } from './opentelemetry';
import { telemetryMutants } from './telemetry';
import { testingMutants } from './testing';
import { resourcesMutants } from './resources';
import { cacheMutants } from './cache';
import type { Mutant } from './mutant';

export type { Mutant } from './mutant';
export { reverts } from './reverts';

/** The one-token mutants: the kill rate is theirs. */
export const mutants: Mutant[] = [
  ...deliveryMutants,
  ...historyMutants,
  ...engineMutants,
  ...coreMutants,
  ...authMutants,
  ...transportMutants,
  ...postgresMutants,
  ...stateMutants,
  ...resourceStoreMutants,
  ...loggingMutants,
  ...configMutants,
  ...cliMutants,
  ...healthMutants,
  ...opentelemetryMutants,
  ...telemetryMutants,
  ...resourcesMutants,
  ...cacheMutants,
  ...testingMutants,
];
