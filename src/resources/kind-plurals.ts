/**
 * The collection name (plural) of each kind in a resource path (docs/resources.md#addresses): the service has a
 * table, not a rule, so a kind missing here is refused by name rather than guessed; `CacheOptions.plurals` adds kinds.
 */
export const KIND_PLURALS: Readonly<Record<string, string>> = {
  // management
  Environment: 'environments',
  APIService: 'apiservices',
  APIServiceRevision: 'apiservicerevisions',
  APIServiceInstance: 'apiserviceinstances',
  APISpec: 'apispecs',
  AccessControlList: 'accesscontrollists',
  AccessRequest: 'accessrequests',
  AccessRequestDefinition: 'accessrequestdefinitions',
  AmplifyRuntimeConfig: 'amplifyruntimeconfigs',
  ConsumerInstance: 'consumerinstances',
  ConsumerSubscriptionDefinition: 'consumersubscriptiondefinitions',
  Credential: 'credentials',
  CredentialRequestDefinition: 'credentialrequestdefinitions',
  DiscoveryAgent: 'discoveryagents',
  GovernanceAgent: 'governanceagents',
  Integration: 'integrations',
  K8SCluster: 'k8sclusters',
  ManagedApplication: 'managedapplications',
  Mesh: 'meshes',
  ResourceHook: 'resourcehooks',
  Secret: 'secrets',
  TraceabilityAgent: 'traceabilityagents',
  VirtualAPI: 'virtualapis',
  WatchTopic: 'watchtopics',
  Webhook: 'webhooks',
  // catalog
  Application: 'applications',
  Asset: 'assets',
  AssetRelease: 'assetreleases',
  Category: 'categories',
  Document: 'documents',
  Marketplace: 'marketplaces',
  Product: 'products',
  ProductPlan: 'productplans',
  ProductRelease: 'productreleases',
  Quota: 'quotas',
  Stage: 'stages',
  Subscription: 'subscriptions',
};

/** The plural of `kind`: the user's table first (`plurals`), then the SDK's; undefined when neither has it. */
export function pluralOfKind(kind: string, plurals: Readonly<Record<string, string>> = {}): string | undefined {
  if (Object.prototype.hasOwnProperty.call(plurals, kind)) return plurals[kind];
  return Object.prototype.hasOwnProperty.call(KIND_PLURALS, kind) ? KIND_PLURALS[kind] : undefined;
}

/**
 * A collection link, `/{group}/{version}[/{scopePlural}/{scopeName}]/{plural}`: without `scope` (an unscoped kind,
 * or a scope name `*`, every scope) the kind's collection across scopes.
 */
export function collectionLink(
  group: string,
  version: string,
  plural: string,
  scope?: { plural: string; name: string },
): string {
  return scope === undefined
    ? `/${group}/${version}/${plural}`
    : `/${group}/${version}/${scope.plural}/${scope.name}/${plural}`;
}
