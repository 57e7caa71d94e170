// The filter dialog: any dimension, an operator (is / is not / contains / matches) and one or
// more values, with suggestions from that dimension's top values over the period.
import { useId, useState } from "preact/hooks";
import type { FilterOp } from "../api/types";
import { Dialog } from "../components/dialog";
import { addFilter } from "../lib/url-state";
import { queryBody, setState, useDash } from "./ctx";
import { dimensionLabel, FILTER_DIMENSIONS, opLabel, valueLabel } from "./dimensions";
import { useQuery } from "./use-query";

export function FilterDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog title="Filter" open={open} onClose={onClose}>
      <FilterForm onClose={onClose} />
    </Dialog>
  );
}

function FilterForm({ onClose }: { onClose: () => void }) {
  const ctx = useDash();
  const [dim, setDim] = useState("page");
  const [propKey, setPropKey] = useState("");
  const [op, setOp] = useState<FilterOp>("is");
  const [value, setValue] = useState("");
  const [values, setValues] = useState<string[]>([]);
  const [error, setError] = useState("");
  const id = useId();
  const dimension = dim === "props" ? (propKey.trim() ? "props." + propKey.trim() : "") : dim;
  // Suggestions: the dimension's top values, under the other filters.
  const others = ctx.state.filters.filter((f) => f[1] !== dimension);
  const suggest = useQuery(
    ctx.scope,
    dimension
      ? queryBody({ ...ctx, state: { ...ctx.state, filters: others } }, { metrics: ["visitors"], dimensions: [dimension], limit: 100 })
      : null,
  );
  const options = (suggest.data?.results ?? []).map((r) => String(r.dimensions[0] ?? ""));
  const multi = op === "is" || op === "is_not";

  function add() {
    const v = value;
    if (!multi || values.includes(v)) return;
    setValues([...values, v]);
    setValue("");
  }

  function submit(e: Event) {
    e.preventDefault();
    if (!dimension) return setError("Type the property's key.");
    const all = multi ? [...values, ...(value || values.length === 0 ? [value] : [])] : [value];
    if (!multi && !value) return setError("Type a value.");
    setState(ctx.state, { filters: addFilter(ctx.state.filters, [op, dimension, [...new Set(all)]]) });
    onClose();
  }

  return (
    <form class="filter-form" onSubmit={submit}>
      <label for={id + "dim"}>Dimension</label>
      <select id={id + "dim"} value={dim} onChange={(e) => setDim((e.currentTarget as HTMLSelectElement).value)}>
        {FILTER_DIMENSIONS.map((d) => (
          <option key={d} value={d}>
            {dimensionLabel(d)}
          </option>
        ))}
        <option value="props">Custom property…</option>
      </select>
      {dim === "props" && (
        <>
          <label for={id + "key"}>Property key</label>
          <input id={id + "key"} value={propKey} onInput={(e) => setPropKey((e.currentTarget as HTMLInputElement).value)} placeholder="plan" />
        </>
      )}
      <label for={id + "op"}>Operator</label>
      <select id={id + "op"} value={op} onChange={(e) => setOp((e.currentTarget as HTMLSelectElement).value as FilterOp)}>
        {(["is", "is_not", "contains", "matches"] as const).map((o) => (
          <option key={o} value={o}>
            {opLabel(o)}
          </option>
        ))}
      </select>
      <label for={id + "val"}>{op === "matches" ? "Regular expression" : "Value"}</label>
      <div class="value-row">
        <input
          id={id + "val"}
          list={id + "list"}
          value={value}
          autocomplete="off"
          onInput={(e) => {
            setValue((e.currentTarget as HTMLInputElement).value);
            setError("");
          }}
          placeholder={op === "matches" ? "^/blog/" : options[0] ?? ""}
          aria-describedby={id + "hint"}
        />
        {multi && (
          <button type="button" onClick={add} disabled={!value}>
            Add value
          </button>
        )}
      </div>
      <datalist id={id + "list"}>
        {options.map((o) => (
          <option key={o} value={o}>
            {valueLabel(dimension, o)}
          </option>
        ))}
      </datalist>
      <p class="hint" id={id + "hint"}>
        {multi ? "Several values match any of them. " : ""}
        {op === "matches" ? "Rust regex syntax, unanchored." : "An empty value matches a missing one."}
      </p>
      {values.length > 0 && (
        <ul class="chips value-chips">
          {values.map((v) => (
            <li key={v} class="chip">
              <span>{valueLabel(dimension, v)}</span>
              <button type="button" aria-label={`Remove value ${v}`} onClick={() => setValues(values.filter((x) => x !== v))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" class="primary">
          Apply filter
        </button>
      </div>
    </form>
  );
}
