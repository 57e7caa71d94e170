// TimezoneSelect: a <select> of the browser's IANA time zones (Intl.supportedValuesOf), with
// UTC and the current value always present.
import { useMemo } from "preact/hooks";

let zones: string[] | null = null;
function allZones(): string[] {
  if (!zones) {
    let list: string[] = [];
    try {
      list = Intl.supportedValuesOf("timeZone");
    } catch {
      list = [];
    }
    zones = Array.from(new Set(["UTC", ...list])).sort();
  }
  return zones;
}

/** The browser's own time zone ("Europe/Paris"), or UTC when it cannot say. */
export function browserTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function TimezoneSelect({ id, value, onChange, invalid }: { id: string; value: string; onChange: (tz: string) => void; invalid?: boolean }) {
  const options = useMemo(() => {
    const all = allZones();
    return all.includes(value) ? all : [value, ...all];
  }, [value]);
  return (
    <select id={id} name="timezone" value={value} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.currentTarget.value)}>
      {options.map((z) => (
        <option key={z} value={z}>
          {z.replace(/_/g, " ")}
        </option>
      ))}
    </select>
  );
}
