// Who is signed in, for every page: set once from GET /api/v1/session at start, then by sign-in
// and sign-out.
import { signal } from "@preact/signals";
import type { User } from "../api/types";

/** The signed-in owner; `undefined` while GET /api/v1/session is under way, `null` when signed out. */
export const me = signal<User | null | undefined>(undefined);
/** Whether this collector lets people create accounts (`--allow-signup`). */
export const allowSignup = signal(false);
