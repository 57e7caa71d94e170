// ConfirmDialog: "are you sure?" before something that cannot be undone (revoke, delete). The
// confirm button runs `onConfirm` (async): busy while it runs, the dialog closes when it
// succeeds, its error is shown inside when it fails. With `requireText`, the button stays
// disabled until that text is typed (deleting a site asks for its name).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { Dialog } from "./dialog";
import { FormError } from "./states";
import { useAction } from "./use-api";

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  requireText,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  requireText?: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  return (
    <Dialog title={title} open={open} onClose={onClose}>
      <ConfirmBody confirmLabel={confirmLabel} requireText={requireText} onConfirm={onConfirm} onClose={onClose}>
        {children}
      </ConfirmBody>
    </Dialog>
  );
}

function ConfirmBody(props: {
  children: ComponentChildren;
  confirmLabel: string;
  requireText?: string | undefined;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState("");
  const ready = props.requireText === undefined || typed.trim() === props.requireText.trim();
  const { submit, busy, error } = useAction(async () => {
    if (!ready) return;
    await props.onConfirm();
    props.onClose();
  });

  return (
    <form onSubmit={submit()}>
      <div class="confirm-message">{props.children}</div>
      {props.requireText !== undefined && (
        <>
          <label for="confirm-text">
            Type <strong>{props.requireText}</strong> to confirm
          </label>
          <input
            id="confirm-text"
            name="confirm"
            autocomplete="off"
            spellcheck={false}
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </>
      )}
      <FormError error={error} />
      <div class="dialog-actions">
        <button type="button" onClick={props.onClose} data-autofocus={props.requireText === undefined ? "" : undefined}>
          Cancel
        </button>
        <button type="submit" class="danger primary" disabled={!ready || busy}>
          {busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </form>
  );
}
