// useCall: one API request for a page of the site's explore views, sent when its key (method,
// path and body) changes, cancelled when it changes again or the page goes away, so an old
// answer never replaces a newer one. `shown` keeps the last answer while the next one loads,
// so the page stays steady. No cache: these answers are not shared between views.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { isAbort } from "../components/states";

export interface CallState<T> {
  data: T | null;
  shown: T | null;
  loading: boolean;
  error: unknown;
  retry: () => void;
}

/** `path` null: nothing to ask yet. */
export function useCall<T>(method: "GET" | "POST", path: string | null, body?: unknown): CallState<T> {
  const key = path === null ? "" : JSON.stringify([method, path, body ?? null]);
  const [st, setSt] = useState<{ key: string; data: T | null; error: unknown; last: T | null }>({ key: "", data: null, error: null, last: null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ac = new AbortController();
    setSt((s) => ({ key, data: null, error: null, last: s.data ?? s.last }));
    api<T>(method, path, body, ac.signal).then(
      (data) => !ac.signal.aborted && setSt({ key, data, error: null, last: data }),
      (error) => !ac.signal.aborted && !isAbort(error) && setSt((s) => ({ key, data: null, error, last: s.last })),
    );
    return () => ac.abort();
    // The key stands for method, path and body.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, nonce]);
  const current = st.key === key;
  const data = current ? st.data : null;
  const error = current ? st.error : null;
  return { data, shown: data ?? st.data ?? st.last, loading: path !== null && !data && !error, error, retry: () => setNonce((n) => n + 1) };
}
