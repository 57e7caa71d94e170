// The app's API types. Everything the server sends or receives is generated from the Rust types
// (generated.ts, written and checked by collector/tests/web_types.rs), so the app and the server
// cannot drift; this module re-exports them and adds the query request's shape, which the server
// parses field by field (query::request) rather than from one Rust type.
export type {
  Annotation,
  AnnotationList,
  ApiToken,
  ComparisonValues,
  CreatedKey,
  CreatedToken,
  Credentials,
  FieldName,
  FunnelResult,
  FunnelStep,
  FunnelStepSpec,
  Goal,
  GoalList,
  Instance,
  JourneyDepth,
  JourneyLink,
  JourneyNode,
  JourneyNodeRef,
  JourneyPath,
  JourneyResult,
  Key,
  KeyList,
  Meta,
  MetricName,
  NewAnnotation,
  NewGoal,
  NewLabelled,
  NewProject,
  NewSavedFunnel,
  NewSegment,
  NewShareLink,
  PasswordChange,
  Project,
  ProjectList,
  ProjectPatch,
  ProjectStatus,
  QueryResult,
  Row,
  SavedFunnel,
  SavedFunnelList,
  Segment,
  SegmentList,
  Session,
  SessionDetail,
  SessionEvent,
  SessionList,
  SessionSummary,
  SharedSite,
  ShareLink,
  ShareList,
  ShareUnlock,
  SignUpAccepted,
  TokenList,
  Totals,
  User,
} from "./generated";
export { FIELDS, MAX_FILTERS, MAX_LIMIT, METRICS } from "./generated";
import type { FunnelStepSpec, MetricName } from "./generated";

/** One cell of a query answer: a count, a float (rounded to 2 decimals), a label, or null. */
export type Cell = number | string | null;

export type FilterOp = "is" | "is_not" | "contains" | "matches";
/** `[operator, dimension, values]` (docs/query-api.md, Filters). */
export type Filter = [FilterOp, string, string[]];

/**
 * `"day" | "yesterday" | "7d" | "28d" | "30d" | "91d" | "month" | "last_month" | "6mo" | "12mo" |
 * "year" | "all"`, or two local dates `["2026-01-01", "2026-01-31"]` (both included), or two
 * RFC 3339 instants (end excluded).
 */
export type DateRange = string | [string, string];

/** `POST /api/v1/query` (docs/query-api.md, Request). */
export interface QueryRequest {
  project_id: string;
  metrics: MetricName[];
  dimensions?: string[];
  filters?: Filter[];
  date_range?: DateRange;
  timezone?: string;
  order_by?: [string, "asc" | "desc"][];
  limit?: number;
  /** A named comparison, or a custom range of local days `[first, last]`. */
  compare?: "previous_period" | "year_over_year" | [string, string];
  /** Named comparisons only: move back by whole weeks so weekdays meet. */
  match_day_of_week?: boolean;
  goal?: string;
}

/** The period, time zone and filters every explore request shares (docs/query-api.md). */
interface ScopedRequest {
  project_id: string;
  date_range?: DateRange;
  timezone?: string;
  /** Session fields only (`page` is the entry page): no `event_name`, `props.*` or `goal`. */
  filters?: Filter[];
}

/** `POST /api/v1/funnel`: 2 to 8 steps. */
export interface FunnelRequest extends ScopedRequest {
  steps: FunnelStepSpec[];
}

/** `POST /api/v1/journeys`. */
export interface JourneyRequest extends ScopedRequest {
  /** A page pattern (`*` wildcards); left out: each session's first step. */
  start?: string;
  /** 1 to 6 (3 when left out). */
  depth?: number;
  /** Nodes per depth and paths, 1 to 50 (10 when left out). */
  limit?: number;
}
