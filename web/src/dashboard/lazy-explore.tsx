// The funnels, journeys and sessions pages are a chunk of their own (build.mjs): loaded by
// dynamic import() the first time one of them is opened, so the dashboard's initial JavaScript
// does not grow with them.
import { signal } from "@preact/signals";
import type { Project } from "../api/types";
import { ErrorState, Loading } from "../components/states";
import type { SiteView } from "./site-nav";

type ExploreModule = typeof import("../explore/explore");

const loaded = signal<ExploreModule | null>(null);
const failed = signal<unknown>(null);
let loading: Promise<void> | null = null;

function load(): void {
  if (loaded.value || loading) return;
  failed.value = null;
  loading = import("../explore/explore").then(
    (m) => {
      loaded.value = m;
    },
    (e: unknown) => {
      failed.value = e;
      loading = null;
    },
  );
}

export function LazyExplore({ project, view, sessionId }: { project: Project; view: Exclude<SiteView, "dashboard">; sessionId?: string }) {
  load();
  const m = loaded.value;
  if (m) return <m.Explore project={project} view={view} sessionId={sessionId} />;
  if (failed.value) return <ErrorState error={failed.value} onRetry={load} />;
  return <Loading />;
}
