// The tracking snippet and the "waiting for the first event" check, shown after a site is
// created (sites list) and in its settings.
//   Snippet: the <script> tag for a key, read-only with a Copy button (data-testid="snippet").
//   FirstEventCheck: polls GET /api/v1/projects/{id}/status every 3 s (the next poll is
//   scheduled only once the previous one answered; it stops when unmounted) until the first
//   event is stored, then says so and links to the dashboard (data-testid="first-event-status",
//   data-state="waiting" | "received").
import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import type { ProjectStatus } from "../api/types";
import { linkClick } from "../lib/router";
import { CopyField } from "./copy-button";
import { isAbort } from "./states";
import { snippetCode } from "./snippet-code";
import "./snippet.css";

export function Snippet({ keyValue }: { keyValue: string }) {
  return <CopyField text={snippetCode(window.location.origin, keyValue)} testid="snippet" label="Copy snippet" />;
}

const POLL_MS = 3000;

export function FirstEventCheck({ projectId, onReceived }: { projectId: string; onReceived?: () => void }) {
  const [first, setFirst] = useState<string | null>(null);
  const [failing, setFailing] = useState(false);

  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    async function poll() {
      try {
        const s = await api<ProjectStatus>("GET", `/api/v1/projects/${encodeURIComponent(projectId)}/status`, undefined, ctl.signal);
        if (stopped) return;
        setFailing(false);
        if (s.first_event_at) {
          setFirst(s.first_event_at);
          onReceived?.();
          return;
        }
      } catch (e) {
        if (stopped || isAbort(e)) return;
        setFailing(true);
      }
      timer = setTimeout(poll, POLL_MS);
    }
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctl.abort();
    };
    // onReceived is a notification only: a new function must not restart the polling.
  }, [projectId]);

  return (
    <div class={"first-event " + (first ? "received" : "waiting")} data-testid="first-event-status" data-state={first ? "received" : "waiting"} role="status">
      {first ? (
        <>
          <svg viewBox="0 0 16 16" width="18" height="18" aria-hidden="true">
            <circle cx="8" cy="8" r="7" class="first-event-dot" />
            <path d="M4.5 8.2l2.2 2.2 4.8-4.8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
          </svg>
          <span>
            <strong>First event received.</strong>{" "}
            <a href={`/sites/${encodeURIComponent(projectId)}`} onClick={linkClick}>
              Open the dashboard
            </a>
          </span>
        </>
      ) : (
        <>
          <span class="first-event-spinner" aria-hidden="true" />
          <span>
            Waiting for the first event…
            <span class="hint"> {failing ? "(cannot reach the server, retrying)" : "Visit your site with the snippet in place."}</span>
          </span>
        </>
      )}
    </div>
  );
}
