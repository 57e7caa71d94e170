// Writes src/dashboard/world.json: one SVG path per country, keyed by ISO 3166-1 alpha-2 code,
// in the Natural Earth projection, for the dashboard's visitors map. The map is not part of the
// initial JavaScript: build.mjs copies the JSON into dist/assets under a hashed name and the
// dashboard fetches it when the map is shown.
//
//   node tools/make-world.mjs
//
// Source: the npm package world-atlas@2 (ISC; its shapes are Natural Earth's, public domain),
// countries-110m.json, a TopoJSON file whose countries are keyed by ISO 3166-1 numeric codes.
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const topo = JSON.parse(fs.readFileSync(path.join(here, "../node_modules/world-atlas/countries-110m.json"), "utf8"));

// ISO 3166-1 numeric → alpha-2, for the countries of countries-110m.json (three shapes without
// a numeric code are matched by name below).
const NUMERIC = Object.fromEntries(
  (
    "004AF 008AL 012DZ 024AO 031AZ 032AR 036AU 040AT 044BS 050BD 051AM 056BE 064BT 068BO 070BA 072BW " +
    "076BR 084BZ 090SB 096BN 100BG 104MM 108BI 112BY 116KH 120CM 124CA 140CF 144LK 148TD 152CL 156CN " +
    "158TW 170CO 178CG 180CD 188CR 191HR 192CU 196CY 203CZ 204BJ 208DK 214DO 218EC 222SV 226GQ 231ET " +
    "232ER 233EE 238FK 242FJ 246FI 250FR 260TF 262DJ 266GA 268GE 270GM 275PS 276DE 288GH 300GR 304GL " +
    "320GT 324GN 328GY 332HT 340HN 348HU 352IS 356IN 360ID 364IR 368IQ 372IE 376IL 380IT 384CI 388JM " +
    "392JP 398KZ 400JO 404KE 408KP 410KR 414KW 417KG 418LA 422LB 426LS 428LV 430LR 434LY 440LT 442LU " +
    "450MG 454MW 458MY 466ML 478MR 484MX 496MN 498MD 499ME 504MA 508MZ 512OM 516NA 524NP 528NL 540NC " +
    "548VU 554NZ 558NI 562NE 566NG 578NO 586PK 591PA 598PG 600PY 604PE 608PH 616PL 620PT 624GW 626TL " +
    "630PR 634QA 642RO 643RU 646RW 682SA 686SN 688RS 694SL 703SK 704VN 705SI 706SO 710ZA 716ZW 724ES " +
    "728SS 729SD 732EH 740SR 748SZ 752SE 756CH 760SY 762TJ 764TH 768TG 780TT 784AE 788TN 792TR 795TM " +
    "800UG 804UA 807MK 818EG 826GB 834TZ 840US 854BF 858UY 860UZ 862VE 887YE 894ZM"
  )
    .split(" ")
    .map((s) => [s.slice(0, 3), s.slice(3)]),
);
const BY_NAME = { Kosovo: "XK", "N. Cyprus": "CY", Somaliland: "SO" };
const SKIP = new Set(["010"]); // Antarctica: no visitors, a third of the map

// TopoJSON arcs are quantized and delta-encoded.
const [sx, sy] = topo.transform.scale;
const [tx, ty] = topo.transform.translate;
const arcs = topo.arcs.map((arc) => {
  let x = 0, y = 0;
  return arc.map(([dx, dy]) => {
    x += dx;
    y += dy;
    return [x * sx + tx, y * sy + ty];
  });
});
function ring(indexes) {
  const out = [];
  for (const i of indexes) {
    const a = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
    out.push(...(out.length ? a.slice(1) : a));
  }
  // A ring across the antimeridian (Fiji, Chukotka): fold its far side onto the 180° edge,
  // rather than drawing a line across the whole map.
  const east = out.filter(([lon]) => lon > 170).length;
  const west = out.filter(([lon]) => lon < -170).length;
  if (east && west) {
    const side = east >= west ? 1 : -1;
    return out.map(([lon, lat]) => [Math.sign(lon) === side ? lon : 180 * side, lat]);
  }
  return out;
}

// The Natural Earth projection (Šavrič, Jenny, Patterson, Petrovič, Hurni 2011), in a 1000-wide box.
function project([lon, lat]) {
  const l = (lon * Math.PI) / 180, p = (lat * Math.PI) / 180;
  const p2 = p * p, p4 = p2 * p2;
  const x = l * (0.8707 - 0.131979 * p2 + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4)));
  const y = p * (1.007226 + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4)));
  return [x, y];
}
const K = 1000 / (2 * project([180, 0])[0]);
const X0 = 500;
const Y0 = project([0, 84])[1] * K; // the top of the box: the northernmost land
const pt = (c) => {
  const [x, y] = project(c);
  // Whole units: the map is drawn at most ~600 px wide, so a unit is under a pixel.
  return [Math.round(X0 + x * K), Math.round(Y0 - y * K)];
};

const num = (v) => String(v);
function pathOf(rings) {
  let d = "";
  for (const r of rings) {
    const pts = r.map(pt);
    let [px, py] = pts[0];
    let seg = `M${num(px)} ${num(py)}`;
    let n = 1;
    for (let i = 1; i < pts.length; i++) {
      const [x, y] = pts[i];
      if (Math.abs(x - px) + Math.abs(y - py) < 2 && i < pts.length - 1) continue;
      const dx = x - px, dy = y - py;
      seg += (n === 1 ? "l" : " ") + num(dx) + (dy < 0 ? "" : " ") + num(dy);
      px = x;
      py = y;
      n++;
    }
    if (n >= 3) d += seg + "z";
  }
  return d.replace(/ -/g, "-");
}

const out = {};
let maxY = 0;
for (const g of topo.objects.countries.geometries) {
  if (SKIP.has(g.id)) continue;
  const code = g.id ? NUMERIC[g.id] : BY_NAME[g.properties.name];
  if (!code) throw new Error(`no ISO code for ${g.id} ${g.properties.name}`);
  const polys = g.type === "Polygon" ? [g.arcs] : g.arcs;
  const rings = polys.flatMap((poly) => poly.map(ring));
  for (const r of rings) for (const c of r) maxY = Math.max(maxY, pt(c)[1]);
  const d = pathOf(rings);
  if (d) out[code] = (out[code] ?? "") + d;
}
const json = JSON.stringify({ viewBox: `0 0 1000 ${Math.ceil(maxY)}`, paths: out });
fs.writeFileSync(path.join(here, "../src/dashboard/world.json"), json + "\n");
console.log(`wrote src/dashboard/world.json: ${Object.keys(out).length} countries, ${json.length} bytes`);
