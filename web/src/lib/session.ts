// Who is signed in, for every page: the owner this browser remembers (lib/remembered.ts) until
// GET /api/v1/session answers, then its answer, then sign-in and sign-out. The request leaves
// while the app's modules evaluate (main.tsx calls loadSession before the first render), not from
// an effect after it.
import { effect, signal } from "@preact/signals";
import { api, ApiError } from "../api/client";
import type { Session, User } from "../api/types";
import { forgetAll, rememberedUser, rememberUser } from "./remembered";

/**
 * The signed-in owner: at start the one remembered here (a head start, replaced by the session's
 * answer), else `undefined` while GET /api/v1/session is under way; `null` when signed out.
 */
export const me = signal<User | null | undefined>(rememberedUser() ?? undefined);
/** Whether this collector lets people create accounts (`--allow-signup`). */
export const allowSignup = signal(false);

// Signed in (by the session's answer or the form): remembered for the next visit. Signed out
// (by the button, an expired session, or found so at start): nothing of the owner stays.
effect(() => {
  const user = me.value;
  if (user) rememberUser(user);
  else if (user === null) forgetAll();
});

export async function loadSession(): Promise<void> {
  try {
    // Always 200 (user null when signed out), so a signed-out visit logs no error.
    const s = await api<Session>("GET", "/api/v1/session");
    allowSignup.value = s.allow_signup;
    // The same owner as remembered keeps the same object: nothing re-renders.
    if (!(s.user && me.value && s.user.id === me.value.id && s.user.email === me.value.email)) me.value = s.user;
  } catch (e) {
    // The collector cannot be reached: show the sign-in page, which reports errors on submit.
    if (e instanceof ApiError) me.value = null;
    else throw e;
  }
}
