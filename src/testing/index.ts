/**
 * `watch-manager/testing`: the embedded fake watch service and the tools to test an agent against it without the
 * real service: a fake clock, a fault-injecting TCP proxy, and a fake event and its context to unit-test a handler.
 * @module watch-manager/testing
 */
export {
  FakeWatchService,
  type FakeWatchServiceOptions,
  type AbortOptions,
  type RawWireEvent,
  type CreateTopicOptions,
} from './fake-watch-service';
export type { ResourceFaults, ResourceCounters } from './fake-resource-api';
export type {
  FakeResource,
  FakeResourceMetadata,
  WatchTopicFilter,
  ResourceContent,
  ResourceKeeper,
  ScopeName,
} from './resource-state';
export { pluralOf } from './resource-address';
export type { FakeServiceCounters } from './fake-subscription';
export type { HistoryFaults, HistoryCounters } from './fake-history-server';
export type { HostileBehaviour } from './hostile';
export { FakeTokenIssuer, type IssueTokenOptions, type TokenCheck } from './fake-token-issuer';
export type { FakeClient, TokenEndpointFaults, TokenEndpointCounters } from './fake-token-endpoint';
export { TopicLog, type PublishInput, type PurgedReading } from './topic-log';
export { FakeClock, seededRandom } from './fake-clock';
export { fakeEvent, fakeEventContext, type FakeEventOverrides } from './fake-event';
export { FaultProxy } from './fault-proxy';
export { ConnectProxy, type ConnectProxyOptions } from './connect-proxy';
export {
  sequenceProviderContract,
  type SequenceProviderSubject,
  type ContractCheck,
} from './sequence-provider-contract';
export { resourceStoreContract, type ResourceStoreContractOptions } from './resource-store-contract';
