// "Add a website": a dialog with the site's name, domain and time zone. Submitting creates the
// project, then its first ingestion key ("Default"), then shows the tracking snippet with that
// key and waits for the first event (components/snippet.tsx).
import { useState } from "preact/hooks";
import { api, ApiError } from "../api/client";
import type { CreatedKey, Project } from "../api/types";
import { linkClick } from "../lib/router";
import { Dialog } from "../components/dialog";
import { FirstEventCheck, Snippet } from "../components/snippet";
import { FormError } from "../components/states";
import { useAction } from "../components/use-api";
import { browserTimezone, TimezoneSelect } from "../components/timezone-select";

export function AddSiteDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (p: Project) => void }) {
  return (
    <Dialog title="Add a website" open={open} onClose={onClose} wide>
      <AddSite onClose={onClose} onCreated={onCreated} />
    </Dialog>
  );
}

function AddSite({ onClose, onCreated }: { onClose: () => void; onCreated: (p: Project) => void }) {
  const [name, setName] = useState("");
  const [domain, setDomain] = useState("");
  const [timezone, setTimezone] = useState(browserTimezone);
  const [project, setProject] = useState<Project | null>(null);
  const [key, setKey] = useState<CreatedKey | null>(null);
  const { submit, busy, error } = useAction(async () => {
    let p = project;
    if (!p) {
      const body: { name: string; domain?: string; timezone: string } = { name: name.trim(), timezone };
      if (domain.trim()) body.domain = domain.trim();
      p = await api<Project>("POST", "/api/v1/projects", body);
      setProject(p);
      onCreated(p);
    }
    setKey(await api<CreatedKey>("POST", `/api/v1/projects/${encodeURIComponent(p.id)}/keys`, { label: "Default" }));
  });

  if (project && key) {
    const dashboard = `/sites/${encodeURIComponent(project.id)}`;
    return (
      <div class="add-site-done">
        <p>
          <strong>{project.name}</strong> is ready. Add this snippet to the <code>&lt;head&gt;</code> of every page of your site:
        </p>
        <Snippet keyValue={key.key} />
        <p class="hint">The key in it is shown only now; you can create other keys in the site's settings.</p>
        <FirstEventCheck projectId={project.id} />
        <div class="dialog-actions">
          <a class="button" href={`${dashboard}/settings`} onClick={(e) => (linkClick(e), onClose())}>
            Settings
          </a>
          <a class="button primary" href={dashboard} onClick={(e) => (linkClick(e), onClose())}>
            Go to the dashboard
          </a>
        </div>
      </div>
    );
  }

  const field = error instanceof ApiError ? error.field : undefined;
  return (
    <form onSubmit={submit()}>
      <label for="site-name">Name</label>
      <input
        id="site-name"
        name="name"
        required
        maxLength={200}
        placeholder="My website"
        disabled={!!project}
        aria-invalid={field === "name" || undefined}
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
      />
      <label for="site-domain">Domain</label>
      <input
        id="site-domain"
        name="domain"
        inputMode="url"
        autocomplete="off"
        spellcheck={false}
        placeholder="example.com"
        disabled={!!project}
        aria-describedby="site-domain-hint"
        aria-invalid={field === "domain" || undefined}
        value={domain}
        onInput={(e) => setDomain(e.currentTarget.value)}
      />
      <p class="hint" id="site-domain-hint">
        The hostname visitors see, without https:// (optional).
      </p>
      <label for="site-timezone">Time zone</label>
      <TimezoneSelect id="site-timezone" value={timezone} onChange={setTimezone} invalid={field === "timezone"} />
      <p class="hint">Days in the reports start at midnight in this time zone.</p>
      {project && !key && error ? (
        <p class="form-error error-text" role="alert">
          The site was created, but its key was not: {error instanceof ApiError ? error.message : "try again"}.
        </p>
      ) : (
        <FormError error={error} />
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Creating…" : project ? "Create the key again" : "Add website"}
        </button>
      </div>
    </form>
  );
}
