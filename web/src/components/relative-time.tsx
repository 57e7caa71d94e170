// RelativeTime: "3 minutes ago" in a <time> element, the full local time in its title; `never`
// (default "never") when the time is null. Every mounted one re-renders once a minute.
import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { fullTime, relativeTime } from "./when";

const now = signal(new Date());
let users = 0;
let timer: ReturnType<typeof setInterval> | undefined;

function useMinuteClock(): Date {
  useEffect(() => {
    if (users++ === 0) timer = setInterval(() => (now.value = new Date()), 60_000);
    return () => {
      if (--users === 0) clearInterval(timer);
    };
  }, []);
  return now.value;
}

export function RelativeTime({ time, never = "never" }: { time: string | null; never?: string }) {
  const clock = useMinuteClock();
  if (!time) return <span class="hint">{never}</span>;
  return (
    <time dateTime={time} title={fullTime(time)}>
      {relativeTime(time, clock)}
    </time>
  );
}
