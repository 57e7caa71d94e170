// The "?" dialog: every keyboard shortcut.
import { Dialog } from "../components/dialog";
import { SHORTCUTS } from "./shortcuts";

export function HelpDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" open={open} onClose={onClose}>
      <table class="shortcuts" data-testid="shortcuts">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map(([k, what]) => (
            <tr key={k}>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">Shortcuts are off while typing in a field, and with Ctrl, Alt or ⌘ held.</p>
    </Dialog>
  );
}
