// useQuery: one dashboard query, fired as soon as the component renders (a layout effect, so
// every panel's request leaves in the same tick: no waterfall), cancelled with an
// AbortController when its body changes or the component goes away (an old answer can never
// replace a newer one). Answers are kept for a minute, so going back to a view shows it at once.
import { useLayoutEffect, useState } from "preact/hooks";
import { query, type QueryScope } from "../api/client";
import type { QueryRequest, QueryResult } from "../api/types";
import { isAbort } from "../components/states";

const TTL_MS = 60_000;
const MAX_ENTRIES = 200;
const cache = new Map<string, { at: number; result: QueryResult }>();

function cached(key: string): QueryResult | null {
  const hit = cache.get(key);
  if (!hit) return null;
  if (Date.now() - hit.at > TTL_MS) {
    cache.delete(key);
    return null;
  }
  return hit.result;
}

export interface QueryState {
  /** The answer to the current body, or null while it loads or failed. */
  data: QueryResult | null;
  /** The last answer shown (possibly to an older body), to keep a panel steady while it reloads. */
  shown: QueryResult | null;
  loading: boolean;
  error: unknown;
  retry: () => void;
}

export function queryKey(scope: QueryScope, body: QueryRequest): string {
  return JSON.stringify([scope, body]);
}

export function useQuery(scope: QueryScope, body: QueryRequest | null, opts: { cache?: boolean } = {}): QueryState {
  const useCache = opts.cache !== false;
  const key = body ? queryKey(scope, body) : "";
  const [st, setSt] = useState<{ key: string; data: QueryResult | null; error: unknown; last: QueryResult | null }>(
    () => ({ key, data: useCache && body ? cached(key) : null, error: null, last: null }),
  );
  const [nonce, setNonce] = useState(0);

  useLayoutEffect(() => {
    if (!body) return;
    const hit = useCache && nonce === 0 ? cached(key) : null;
    if (hit) {
      setSt((s) => (s.key === key && s.data === hit ? s : { key, data: hit, error: null, last: hit }));
      return;
    }
    const ac = new AbortController();
    setSt((s) => ({ key, data: null, error: null, last: s.data ?? s.last }));
    query(scope, body, ac.signal).then(
      (result) => {
        if (ac.signal.aborted) return;
        if (useCache) {
          cache.set(key, { at: Date.now(), result });
          if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
        }
        setSt({ key, data: result, error: null, last: result });
      },
      (error) => {
        if (ac.signal.aborted || isAbort(error)) return;
        setSt((s) => ({ key, data: null, error, last: s.last }));
      },
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, nonce]);

  const current = st.key === key;
  const data = current ? st.data : useCache && body ? cached(key) : null;
  return {
    data,
    shown: data ?? st.data ?? st.last,
    loading: !!body && !data && !(current && st.error),
    error: current ? st.error : null,
    retry: () => setNonce((n) => n + 1),
  };
}
