/**
 * watch-manager/opentelemetry: the manager's metrics through `@opentelemetry/api`, an optional peer dependency loaded
 * only by this entry. Give `openTelemetryMetrics()` as the manager's `telemetry` option.
 * @module watch-manager/opentelemetry
 */
import './peer-check';
export {
  openTelemetryMetrics,
  METRIC_NAMES,
  type OpenTelemetryMetricsOptions,
  type MetricName,
} from './open-telemetry-metrics';
export type { WatchTelemetry, TelemetryLink, TopicTelemetry } from '../telemetry/watch-telemetry';
