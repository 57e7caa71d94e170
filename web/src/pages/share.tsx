// A share link (/share/{slug}), signed out, possibly inside an iframe: the site's dashboard,
// read-only, under a slim header. An unknown or revoked link gets a clear page; a link with a
// password asks for it first (POST unlock sets a cookie, so a reload does not ask again).
import { useMemo, useState } from "preact/hooks";
import { api, ApiError, type QueryScope } from "../api/client";
import type { SharedSite } from "../api/types";
import { Dashboard } from "../dashboard/dashboard";
import { Logo } from "../components/layout";
import { ErrorState, FormError, Loading, useTitle } from "../components/states";
import { useAction, useLoad } from "../components/use-api";
import { ThemeToggle } from "../components/theme-toggle";
import { AuthFrame } from "./login";
import "./share.css";

export function SharePage({ slug }: { slug: string }) {
  const base = `/api/v1/share/${encodeURIComponent(slug)}`;
  const { data: site, error, retry, set: setSite } = useLoad<SharedSite>(base);
  const scope = useMemo<QueryScope>(() => ({ kind: "share", slug }), [slug]);
  useTitle(site ? site.project.name : "Shared dashboard");

  if (error instanceof ApiError && error.status === 404) {
    return (
      <AuthFrame title="This link does not exist or was revoked">
        <p class="hint" data-testid="share-not-found">
          Ask the person who shared it for a new link.
        </p>
      </AuthFrame>
    );
  }
  if (error) {
    return (
      <main class="container narrow">
        <ErrorState error={error} onRetry={retry} />
      </main>
    );
  }
  if (!site) return <Loading />;
  if (site.password_required && !site.unlocked) {
    return <Unlock base={base} name={site.project.name} onUnlocked={() => setSite({ ...site, unlocked: true })} />;
  }

  return (
    <>
      <header class="share-header">
        <div class="share-header-inner container">
          <div class="share-title">
            <h1>{site.project.name}</h1>
            {site.project.domain && <span class="hint">{site.project.domain}</span>}
          </div>
          <span class="share-powered">
            <Logo />
            Powered by Metrics
          </span>
          <ThemeToggle />
        </div>
      </header>
      <main class="container share-main">
        <Dashboard scope={scope} project={site.project} shared />
      </main>
    </>
  );
}

function Unlock({ base, name, onUnlocked }: { base: string; name: string; onUnlocked: () => void }) {
  const [password, setPassword] = useState("");
  const { submit, busy, error } = useAction(async () => {
    try {
      await api("POST", `${base}/unlock`, { password });
    } catch (e) {
      throw e instanceof ApiError && e.status === 401 ? new ApiError(401, e.code, "Wrong password. Try again.") : e;
    }
    onUnlocked();
  });

  return (
    <AuthFrame title={name}>
      <p class="hint">This dashboard is protected by a password.</p>
      <form onSubmit={submit()}>
        <label for="share-unlock-password">Password</label>
        <input
          id="share-unlock-password"
          name="password"
          type="password"
          autocomplete="off"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <FormError error={error} />
        <button type="submit" class="primary auth-submit" disabled={busy}>
          {busy ? "Checking…" : "View the dashboard"}
        </button>
      </form>
    </AuthFrame>
  );
}
