// CopyButton: copies `text` to the clipboard (navigator.clipboard; where that is missing or
// refused, a hidden textarea and execCommand; failing that, it selects the text of the
// enclosing .copy-field so Ctrl+C copies it) and announces the outcome in an aria-live region.
// CopyField: read-only text in a <pre><code> with its CopyButton, for keys, tokens, snippets, URLs.
import { useEffect, useRef, useState } from "preact/hooks";
import "./copy-button.css";

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, no focus): try the old way.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "copy-scratch";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

function selectContents(el: Element): void {
  const sel = window.getSelection();
  if (!sel) return;
  const range = document.createRange();
  range.selectNodeContents(el);
  sel.removeAllRanges();
  sel.addRange(range);
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "manual">("idle");
  const ref = useRef<HTMLButtonElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  async function onClick() {
    const ok = await copyText(text);
    if (!ok) {
      const source = ref.current?.closest(".copy-field")?.querySelector("pre, code, input, textarea");
      if (source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement) source.select();
      else if (source) selectContents(source);
    }
    setState(ok ? "copied" : "manual");
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState("idle"), ok ? 2000 : 6000);
  }

  return (
    <span class="copy-button">
      <button ref={ref} type="button" onClick={onClick}>
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          {state === "copied" ? (
            <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
          ) : (
            <path d="M5.5 5.5V3a1 1 0 011-1H13a1 1 0 011 1v6.5a1 1 0 01-1 1h-2.5M3 5.5h6.5a1 1 0 011 1V13a1 1 0 01-1 1H3a1 1 0 01-1-1V6.5a1 1 0 011-1z" fill="none" stroke="currentColor" stroke-width="1.4" />
          )}
        </svg>
        {state === "copied" ? "Copied" : label}
      </button>
      <span class="visually-hidden" role="status" aria-live="polite">
        {state === "copied" ? "Copied" : state === "manual" ? "Copying is not allowed here: the text is selected, press Ctrl+C to copy it." : ""}
      </span>
    </span>
  );
}

/** Read-only text with a Copy button; `testid` goes on the <pre>. */
export function CopyField({ text, testid, label }: { text: string; testid?: string; label?: string }) {
  return (
    <div class="copy-field">
      <pre data-testid={testid}>
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label={label} />
    </div>
  );
}
