// A button that opens a small menu under it. Closes on a choice, a click outside, or Esc
// (which then goes no further: it does not also remove a filter).
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";

/** The open menu's close function, for the dashboard's Esc shortcut. */
export let closeOpenMenu: (() => void) | null = null;

export function Menu(props: {
  label: ComponentChildren;
  /** Accessible name of the button when the label is not enough. */
  ariaLabel?: string;
  buttonClass?: string;
  testid?: string;
  children: (close: () => void) => ComponentChildren;
  align?: "left" | "right";
}) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    const close = () => setOpen(false);
    closeOpenMenu = () => {
      close();
      button.current?.focus();
    };
    const onDown = (e: PointerEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) close();
    };
    document.addEventListener("pointerdown", onDown);
    const first = box.current?.querySelector<HTMLElement>(".menu-pop a, .menu-pop button, .menu-pop input");
    first?.focus();
    return () => {
      document.removeEventListener("pointerdown", onDown);
      closeOpenMenu = null;
    };
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  return (
    <div
      class="menu"
      ref={box}
      onKeyDown={(e) => {
        if (e.key === "Escape" && open) {
          e.preventDefault();
          e.stopPropagation();
          close();
        }
      }}
    >
      <button
        ref={button}
        type="button"
        class={props.buttonClass ?? ""}
        aria-expanded={open}
        aria-controls={id}
        aria-label={props.ariaLabel}
        data-testid={props.testid}
        onClick={() => setOpen(!open)}
      >
        {props.label}
        <svg viewBox="0 0 12 12" width="10" height="10" aria-hidden="true">
          <path d="M2 4l4 4 4-4" fill="none" stroke="currentColor" stroke-width="1.6" />
        </svg>
      </button>
      {open && (
        <div class={"menu-pop card" + (props.align === "right" ? " right" : "")} id={id}>
          {props.children(close)}
        </div>
      )}
    </div>
  );
}
