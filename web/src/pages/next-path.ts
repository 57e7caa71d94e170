// Where to go after signing in. Pure, unit-tested.

/**
 * The `next` parameter of a sign-in page's query string if it is a path of this site (starts
 * with one `/`, stays on the same origin once resolved, is not the sign-in page itself), else `/`.
 */
export function nextPath(search: string): string {
  const next = new URLSearchParams(search).get("next");
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  const base = "https://origin.invalid";
  let u: URL;
  try {
    u = new URL(next, base);
  } catch {
    return "/";
  }
  // The URL parser drops tabs and newlines ("/\t/evil.example" is "//evil.example"): the
  // resolved origin tells.
  if (u.origin !== base) return "/";
  if (u.pathname === "/login" || u.pathname === "/signup") return "/";
  return u.pathname + u.search + u.hash;
}
