// Site settings (/sites/{id}/settings): one page of sections with anchors: General (name,
// domain, time zone), Tracking snippet, Ingestion keys (settings-keys.tsx), Share links
// (settings-shares.tsx), Goals (settings-goals.tsx), Danger zone (delete the site). Each form shows the API's errors next
// to itself.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api/client";
import type { CreatedKey, Key, Project } from "../api/types";
import { linkClick, navigate } from "../lib/router";
import { ConfirmDialog } from "../components/confirm-dialog";
import { CopyField } from "../components/copy-button";
import { FirstEventCheck, Snippet } from "../components/snippet";
import { snippetCode } from "../components/snippet-code";
import { ErrorState, FormError, Loading, useTitle } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { TimezoneSelect } from "../components/timezone-select";
import { KeysSection } from "./settings-keys";
import { SharesSection } from "./settings-shares";
import { GoalsSection } from "./settings-goals";
import "./site-settings.css";

const SECTIONS: [string, string][] = [
  ["general", "General"],
  ["snippet", "Tracking snippet"],
  ["keys", "Ingestion keys"],
  ["shares", "Share links"],
  ["goals", "Goals"],
  ["danger", "Danger zone"],
];

export function SiteSettingsPage({ projectId }: { projectId: string }) {
  const base = `/api/v1/projects/${encodeURIComponent(projectId)}`;
  const { data: project, error, retry, set: setProject } = useLoad<Project>(base);
  const { data: keyList, error: keysError, retry: retryKeys, set: setKeyList } = useLoad<{ keys: Key[] }>(`${base}/keys`);
  const keys = keyList?.keys ?? null;
  const setKeys = (f: (list: Key[]) => Key[]) => setKeyList((d) => ({ keys: f(d?.keys ?? []) }));
  useTitle(project ? `Settings · ${project.name}` : "Settings");

  // Scroll to the #section the URL names once the page has content.
  useEffect(() => {
    if (!project) return;
    const id = window.location.hash.slice(1);
    if (id) document.getElementById(id)?.scrollIntoView();
  }, [project !== null]);

  if (error) {
    const missing = error instanceof ApiError && error.status === 404;
    return (
      <main class="container narrow">
        {missing ? (
          <div class="error-state card">
            <h1>This site does not exist</h1>
            <p>It may have been deleted.</p>
            <a href="/" onClick={linkClick}>
              Back to your websites
            </a>
          </div>
        ) : (
          <ErrorState error={error} onRetry={retry} />
        )}
      </main>
    );
  }
  if (!project) return <main class="container"><Loading /></main>;

  const addKey = (k: Key) => setKeys((list) => [k, ...list.filter((x) => x.id !== k.id)]);
  const replaceKey = (k: Key) => setKeys((list) => list.map((x) => (x.id === k.id ? k : x)));
  const dashboard = `/sites/${encodeURIComponent(project.id)}`;

  return (
    <main class="container settings">
      <p class="settings-back">
        <a href={dashboard} onClick={linkClick}>
          ← Back to the dashboard
        </a>
      </p>
      <h1>
        Settings <span class="settings-site">· {project.name}</span>
      </h1>
      <nav class="settings-nav" aria-label="Sections">
        {SECTIONS.map(([id, label]) => (
          <a key={id} href={`#${id}`}>
            {label}
          </a>
        ))}
      </nav>
      <GeneralSection project={project} onSaved={setProject} />
      <SnippetSection project={project} keys={keys} onCreated={addKey} />
      <KeysSection projectId={project.id} keys={keys} error={keysError} onRetry={retryKeys} onCreated={addKey} onRevoked={replaceKey} />
      <SharesSection projectId={project.id} />
      <GoalsSection project={project} />
      <DangerSection project={project} />
    </main>
  );
}

function GeneralSection({ project, onSaved }: { project: Project; onSaved: (p: Project) => void }) {
  const [name, setName] = useState(project.name);
  const [domain, setDomain] = useState(project.domain ?? "");
  const [timezone, setTimezone] = useState(project.timezone);
  const [saved, setSaved] = useState(false);
  const { submit, busy, error } = useAction(async () => {
    setSaved(false);
    const p = await api<Project>("PATCH", `/api/v1/projects/${encodeURIComponent(project.id)}`, {
      name: name.trim(),
      // "" removes the domain (ProjectPatch: a field left out stays as it is).
      domain: domain.trim(),
      timezone,
    });
    onSaved(p);
    setName(p.name);
    setDomain(p.domain ?? "");
    setTimezone(p.timezone);
    setSaved(true);
  });

  const field = error instanceof ApiError ? error.field : undefined;
  const edited = () => setSaved(false);
  return (
    <section id="general" class="settings-section card" aria-labelledby="general-title">
      <h2 id="general-title">General</h2>
      <form onSubmit={submit()}>
        <div class="settings-fields">
          <div>
            <label for="general-name">Name</label>
            <input
              id="general-name"
              name="name"
              required
              maxLength={200}
              aria-invalid={field === "name" || undefined}
              value={name}
              onInput={(e) => (setName(e.currentTarget.value), edited())}
            />
          </div>
          <div>
            <label for="general-domain">Domain</label>
            <input
              id="general-domain"
              name="domain"
              inputMode="url"
              autocomplete="off"
              spellcheck={false}
              placeholder="example.com"
              aria-invalid={field === "domain" || undefined}
              value={domain}
              onInput={(e) => (setDomain(e.currentTarget.value), edited())}
            />
          </div>
          <div>
            <label for="general-timezone">Time zone</label>
            <TimezoneSelect id="general-timezone" value={timezone} onChange={(tz) => (setTimezone(tz), edited())} invalid={field === "timezone"} />
          </div>
        </div>
        <p class="hint">The dashboard's days start at midnight in this time zone.</p>
        <FormError error={error} />
        <div class="settings-actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
          <p class="form-ok" role="status">
            {saved ? "Saved." : ""}
          </p>
        </div>
      </form>
    </section>
  );
}

function SnippetSection({ project, keys, onCreated }: { project: Project; keys: Key[] | null; onCreated: (k: Key) => void }) {
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const newest = keys?.find((k) => !k.revoked_at);
  const { run: createKey, busy, error } = useAction(async () => {
    const label = "Snippet " + new Date().toISOString().slice(0, 10);
    const k = await api<CreatedKey>("POST", `/api/v1/projects/${encodeURIComponent(project.id)}/keys`, { label });
    setCreated(k);
    onCreated(k);
  });

  return (
    <section id="snippet" class="settings-section card" aria-labelledby="snippet-title">
      <h2 id="snippet-title">Tracking snippet</h2>
      <p>
        Add this to the <code>&lt;head&gt;</code> of every page of your site.
      </p>
      {created ? (
        <>
          <Snippet keyValue={created.key} />
          <p class="hint">
            This snippet holds the new key <strong>{created.label}</strong>. Copy it now: the key is shown only once.
          </p>
        </>
      ) : (
        <>
          <CopyField text={snippetCode(window.location.origin, "<your key>")} label="Copy snippet" />
          <p class="hint">
            Put one of your ingestion keys in place of <code>&lt;your key&gt;</code>. A key is shown once, when it is created
            {newest ? (
              <>
                {" "}
                (your newest active key starts <code>{newest.preview}</code>)
              </>
            ) : null}
            ; lost it? Create a new one.
          </p>
          <button type="button" onClick={() => void createKey()} disabled={busy}>
            {busy ? "Creating…" : "Create a key for the snippet"}
          </button>
          <FormError error={error} />
        </>
      )}
      <FirstEventCheck projectId={project.id} />
    </section>
  );
}

function DangerSection({ project }: { project: Project }) {
  const [open, setOpen] = useState(false);
  return (
    <section id="danger" class="settings-section card danger-zone" aria-labelledby="danger-title">
      <h2 id="danger-title">Danger zone</h2>
      <div class="danger-row">
        <p>
          <strong>Delete this site.</strong> Its dashboard, keys, share links and every event it received are deleted for good.
        </p>
        <button type="button" class="danger" onClick={() => setOpen(true)}>
          Delete site…
        </button>
      </div>
      <ConfirmDialog
        open={open}
        title={`Delete ${project.name}?`}
        confirmLabel="Delete this site"
        requireText={project.name}
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          await api("DELETE", `/api/v1/projects/${encodeURIComponent(project.id)}`);
          navigate("/");
        }}
      >
        <p>This deletes the site and all its data. It cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}
