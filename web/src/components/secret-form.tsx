// LabelForm: the one-field "create with a label" form under a list (keys, tokens), with the
// API's error under it. SecretOnce: a just-created secret (key, token) shown once, with Copy.
import { useState } from "preact/hooks";
import { CopyField } from "./copy-button";
import { FormError } from "./states";
import { useAction } from "./use-api";

export function LabelForm({ id, label, placeholder, button, onCreate }: { id: string; label: string; placeholder: string; button: string; onCreate: (label: string) => Promise<void> }) {
  const [value, setValue] = useState("");
  const { submit, busy, error } = useAction(async () => {
    await onCreate(value.trim());
    setValue("");
  });
  return (
    <>
      <form class="inline-form" onSubmit={submit()}>
        <div class="inline-field">
          <label for={id}>{label}</label>
          <input id={id} name="label" required maxLength={100} placeholder={placeholder} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : button}
        </button>
      </form>
      <FormError error={error} />
    </>
  );
}

export function SecretOnce({ what, label, secret, testid }: { what: string; label: string; secret: string; testid: string }) {
  return (
    <div class="created-secret" role="status">
      <p>
        <strong>
          {what} “{label}” created.
        </strong>{" "}
        Copy it now: it will not be shown again.
      </p>
      <CopyField text={secret} testid={testid} label={"Copy " + what.toLowerCase()} />
    </div>
  );
}
