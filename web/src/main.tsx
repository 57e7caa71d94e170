import { render } from "preact";
import "./styles/base.css";
import { App } from "./app";
import { loadSession } from "./lib/session";
import { preloadChart } from "./charts/line-chart";
import { preloadWorld } from "./dashboard/world-map";

// What the first screen needs starts now, not from effects after the first render: the session
// (which the page waits for unless this browser remembers its owner, lib/remembered.ts), and on
// a site's dashboard the graph's uPlot chunk and the map's shapes, so that neither queues behind
// the dashboard's queries.
void loadSession();
if (/^\/(sites|share)\/[^/]+\/?$/.test(window.location.pathname)) {
  void preloadChart().catch(() => {});
  void preloadWorld().catch(() => {});
}

render(<App />, document.getElementById("app")!);
