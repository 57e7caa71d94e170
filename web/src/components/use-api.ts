// Hooks for the API calls every page makes.
//   useLoad(path): GET `path` when mounted (and on retry), cancelled when unmounted; the answer,
//   the error, retry() and set() (to update the data after a change).
//   useAction(fn): runs `fn` once at a time; busy while it runs, its error kept for FormError.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client";
import { isAbort } from "./states";

export function useLoad<T>(path: string) {
  const [data, set] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const last = useRef(path);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    // Another resource: forget the old one rather than show it under the new name.
    if (last.current !== path) set(null);
    last.current = path;
    api<T>("GET", path, undefined, ctl.signal).then(set, (e) => !isAbort(e) && setError(e));
    return () => ctl.abort();
  }, [path, attempt]);
  return { data, error, set, retry: () => setAttempt((n) => n + 1) };
}

export function useAction<A extends unknown[]>(fn: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run(...args: A): Promise<boolean> {
    if (busy) return false;
    setBusy(true);
    setError(null);
    try {
      await fn(...args);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }
  /** An onSubmit handler: no page reload, then run(). */
  const submit = (...args: A) => (e: Event) => {
    e.preventDefault();
    void run(...args);
  };
  return { run, submit, busy, error, setError };
}
