// The app's root: who is signed in, and which page the path asks for. Pages own their state in
// the URL's query string (lib/url-state.ts); nothing else survives a reload, on purpose (the
// owner and sites of lib/remembered.ts are only a head start, revalidated at every load).
import { setUnauthorizedHandler } from "./api/client";
import { me } from "./lib/session";
import { location, match, navigate } from "./lib/router";
import { Layout } from "./components/layout";
import { LoginPage, SignupPage } from "./pages/login";
import { SitesPage } from "./pages/sites";
import { SiteSettingsPage } from "./pages/site-settings";
import { AccountPage } from "./pages/account";
import { SharePage } from "./pages/share";
import { DashboardPage } from "./dashboard/dashboard-page";

setUnauthorizedHandler(() => {
  if (me.value) me.value = null;
});

function isExploreView(v: string): v is "funnels" | "journeys" | "sessions" {
  return v === "funnels" || v === "journeys" || v === "sessions";
}

/** Pages a signed-out visitor may see. */
function isPublic(path: string): boolean {
  return path === "/login" || path === "/signup" || path.startsWith("/share/");
}

export function App() {
  const { path, search } = location.value;

  const shared = match("/share/:slug", path);
  if (shared) return <SharePage slug={shared.slug!} />;

  if (me.value === undefined) return <div class="page-loading" aria-busy="true" />;
  if (me.value === null && !isPublic(path)) {
    const next = path + search;
    navigate("/login" + (next !== "/" ? "?next=" + encodeURIComponent(next) : ""), true);
    return null;
  }
  if (path === "/login") return <LoginPage onSignedIn={(u) => (me.value = u)} />;
  if (path === "/signup") return <SignupPage onSignedIn={(u) => (me.value = u)} />;

  const user = me.value!;
  let page;
  let params: Record<string, string> | null;
  if ((params = match("/sites/:id/settings", path))) page = <SiteSettingsPage projectId={params.id!} />;
  else if ((params = match("/sites/:id/sessions/:session", path)))
    page = <DashboardPage projectId={params.id!} view="session" sessionId={params.session!} />;
  else if ((params = match("/sites/:id/:view", path)) && isExploreView(params.view!))
    page = <DashboardPage projectId={params.id!} view={params.view} />;
  else if ((params = match("/sites/:id", path))) page = <DashboardPage projectId={params.id!} />;
  else if (path === "/account") page = <AccountPage user={user} />;
  else if (path === "/") page = <SitesPage />;
  else page = <NotFound />;
  return (
    <Layout user={user} onSignedOut={() => (me.value = null)}>
      {page}
    </Layout>
  );
}

function NotFound() {
  return (
    <main class="container narrow">
      <h1>Page not found</h1>
      <p>
        <a href="/">Back to your sites</a>
      </p>
    </main>
  );
}
