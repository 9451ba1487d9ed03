// console/app.js - the coffer web console. Plain DOM and SVG, no library.
//
// Session: the server keeps the session in an HttpOnly cookie; this page
// only holds the session's CSRF token, in a variable (never in storage),
// and sends it as X-Coffer-CSRF with every request that changes something.
// The admin secret typed at login goes out once and the field is cleared.
// A new key's secret is shown once in the dialog and removed from the page
// when the dialog closes; nothing the page fetches later contains it.
"use strict";

const API = "/console/api/";
const REFRESH_MS = 10000;
let csrf = null;
let timer = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

async function call(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-Coffer-CSRF"] = csrf || "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(API + path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (resp.status === 401 && path !== "login") { showLogin(); throw new Error("signed out"); }
  if (!resp.ok) {
    const msg = data && data.message ? data.message : "HTTP " + resp.status;
    throw new Error(msg);
  }
  return data;
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  setTimeout(() => { t.hidden = true; }, 4000);
}

// ---- formatting ----------------------------------------------------------

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + " " + units[i];
}

function when(unix) {
  if (!unix) return "never";
  return new Date(unix * 1000).toLocaleString();
}

function badge(text, kind) {
  return el("span", {class: "badge " + (kind || text)}, text);
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// ---- views ---------------------------------------------------------------

function showLogin() {
  csrf = null;
  if (timer) clearInterval(timer);
  timer = null;
  $("dash-view").hidden = true;
  $("who").hidden = true;
  $("login-view").hidden = false;
  $("login-ak").focus();
}

function showDashboard(session) {
  csrf = session.csrf;
  $("who-key").textContent = "admin " + session.access_key;
  $("who").hidden = false;
  $("login-view").hidden = true;
  $("dash-view").hidden = false;
  refresh();
  if (!timer) timer = setInterval(refresh, REFRESH_MS);
}

async function refresh() {
  try {
    const [status, disks, usage, tenants, keys, overview] = await Promise.all([
      call("GET", "admin/status"), call("GET", "admin/disks"), call("GET", "admin/usage"),
      call("GET", "admin/tenants"), call("GET", "admin/keys"), call("GET", "overview"),
    ]);
    renderStatus(status, overview);
    renderDisks(disks.disks);
    renderTenants(tenants.tenants, usage.usage, keys.keys);
    renderKeys(keys.keys);
    renderJobs(status, overview);
    renderCharts(overview);
  } catch (e) {
    if (e.message !== "signed out") toast("refresh failed: " + e.message);
  }
}

function renderStatus(s, o) {
  $("status-line").textContent =
    `cofferd ${s.version} · erasure ${s.layout.k}+${s.layout.m} · ` +
    `${s.tenants} tenants · ${s.keys} keys · ${o.in_flight} requests in flight` +
    (o.draining ? " · DRAINING" : "");
}

function renderDisks(disks) {
  fill($("disks").tBodies[0], disks.map((d) => {
    const pct = d.capacity_bytes ? (100 * d.used_bytes / d.capacity_bytes) : 0;
    const bar = el("span", {class: "bar"}, el("span", {}));
    bar.firstChild.style.width = pct.toFixed(1) + "%";
    return el("tr", {},
      el("td", {}, d.index), el("td", {}, el("code", {}, d.path)), el("td", {}, badge(d.state)),
      el("td", {}, bar, `${bytes(d.used_bytes)} of ${bytes(d.capacity_bytes)}`),
      el("td", {}, `${d.read_errors} / ${d.write_errors} / ${d.crc_errors}`));
  }));
}

// The tenant's own quota against what it stores ("no quota" without one).
function quotaText(u) {
  if (u.quota === null) return "no quota";
  const parts = [];
  if (u.quota.bytes !== null) parts.push(`${bytes(u.bytes)} of ${bytes(u.quota.bytes)}`);
  if (u.quota.objects !== null) parts.push(`${u.objects} of ${u.quota.objects} objects`);
  return parts.join(", ");
}

function renderTenants(tenants, usage, keys) {
  const use = new Map(usage.map((u) => [u.tenant, u]));
  fill($("tenants").tBodies[0], tenants.map((t) => {
    const u = use.get(t.name) || {buckets: 0, objects: 0, bytes: 0, quota: null};
    const nkeys = keys.filter((k) => k.tenant === t.name).length;
    const del = el("button", {class: "danger", type: "button", title: "delete (only when it has no buckets)",
      onclick: () => act(() => call("DELETE", "admin/tenants/" + t.name), "tenant " + t.name + " deleted")},
      "Delete");
    return el("tr", {"data-tenant": t.name},
      el("td", {}, t.name), el("td", {class: "num"}, u.buckets), el("td", {class: "num"}, u.objects),
      el("td", {class: "num"}, bytes(u.bytes)),
      el("td", {}, quotaText(u)),
      el("td", {class: "num"}, nkeys), el("td", {}, del));
  }));
  for (const id of ["key-tenant", "quota-tenant"]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(...tenants.map((t) => el("option", {value: t.name}, t.name)));
    if (tenants.some((t) => t.name === keep)) sel.value = keep;
  }
}

// A quota field as the admin API takes it: blank keeps the limit (no
// field), "none" drops it (null), else digits with an optional K, M, G
// or T (powers of 1024, bytes only). Throws on anything else.
function quotaLimit(text, suffixes, what) {
  const v = text.trim();
  if (v === "") return undefined;
  if (v === "none") return null;
  const m = /^([0-9]+)([KMGT]?)$/.exec(v);
  if (!m || (m[2] && !suffixes)) throw new Error(what + ": a whole number" +
    (suffixes ? " with an optional K, M, G or T" : "") + ", or none");
  return Number(m[1]) * 1024 ** " KMGT".indexOf(m[2] || " ");
}

function renderKeys(keys) {
  fill($("keys").tBodies[0], keys.map((k) => el("tr", {"data-key": k.access_key},
    el("td", {}, el("code", {}, k.access_key)), el("td", {}, k.tenant),
    el("td", {}, k.read_only ? "read-only" : "read-write"), el("td", {}, when(k.created)),
    el("td", {}, el("button", {class: "danger", type: "button",
      onclick: () => act(() => call("DELETE", "admin/keys/" + k.access_key),
                         "key " + k.access_key + " revoked")}, "Revoke")))));
}

function renderJobs(status, o) {
  $("heal-summary").replaceChildren(
    el("div", {}, el("b", {}, status.heal_pending), "segments waiting for heal"),
    el("div", {}, el("b", {}, status.index.commits), "index commits"),
    el("div", {}, el("b", {}, status.index.wal_syncs), "WAL fdatasyncs"));
  // o.jobs: the scheduler's status of each job (GET /admin/jobs, server/sched.h)
  fill($("jobs").tBodies[0], o.jobs.map((j) => {
    const last = j.last_run;
    const result = !last ? badge("not run yet", "idle")
      : el("span", {}, last.ok ? badge("ok") : badge("failed"), " " + last.summary);
    const state = j.state === "running" && j.progress
      ? el("span", {}, badge("running"), ` ${j.progress.done}/${j.progress.total} ${j.progress.phase}`)
      : badge(j.state);
    return el("tr", {},
      el("td", {}, j.name), el("td", {}, state),
      el("td", {}, last ? when(last.start) : "never"),
      el("td", {}, last ? last.duration_seconds.toFixed(2) + " s" : "-"),
      el("td", {}, result),
      el("td", {}, j.next_run ? when(j.next_run) : "on demand"),
      el("td", {}, `${j.runs_ok} / ${j.runs_failed}`));
  }));
}

// ---- charts --------------------------------------------------------------

const COLORS = ["#2e75b6", "#c0392b", "#b7791f", "#23864f", "#7b4fa0", "#1b9aaa",
                "#d35400", "#34495e"];
const SVGNS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// series: [{name, points: [[t, v], ...]}]; format(v) labels the y axis.
// A fixed vmax (e.g. 100 for percentages) instead of the largest value.
function lineChart(target, series, format, emptyText, fixedMax) {
  const W = 520, H = 220, L = 58, R = 10, T = 24, B = 26;
  const all = series.flatMap((s) => s.points);
  target.replaceChildren();
  if (new Set(all.map((p) => p[0])).size < 2) {
    target.append(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, emptyText));
    return;
  }
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  let vmax = fixedMax || Math.max(...all.map((p) => p[1]));
  if (!(vmax > 0)) vmax = 1;
  const x = (t) => L + (W - L - R) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0);
  const y = (v) => T + (H - T - B) * (1 - v / vmax);
  for (let i = 0; i <= 4; i++) {
    const v = vmax * i / 4;
    target.append(svg("line", {class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v)}));
    target.append(svg("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"}, format(v)));
  }
  target.append(svg("line", {class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B}));
  const tl = (t) => new Date(t * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  target.append(svg("text", {x: L, y: H - 8}, tl(t0)));
  target.append(svg("text", {x: W - R, y: H - 8, "text-anchor": "end"}, tl(t1)));
  let lx = L;                                   // legend, left to right
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => (j ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
    target.append(svg("path", {class: "line", d, stroke: color}));
    target.append(svg("rect", {x: lx, y: 6, width: 10, height: 10, fill: color}));
    target.append(svg("text", {x: lx + 14, y: 15}, s.name));
    lx += 28 + 6.5 * s.name.length;
  });
}

function renderCharts(o) {
  const samples = o.samples;
  const ndisks = samples.length ? samples[samples.length - 1].disk_used.length : 0;
  const disks = [];
  for (let d = 0; d < ndisks && d < 8; d++) {
    disks.push({name: "disk " + d, points: samples.filter((s) => s.disk_capacity[d] > 0)
      .map((s) => [s.t, 100 * s.disk_used[d] / s.disk_capacity[d]])});
  }
  lineChart($("chart-capacity"), disks, (v) => v.toFixed(0) + " %",
            "collecting samples (one every " + o.sample_interval_s + " s)", 100);
  const rate = (field) => samples.slice(1).map((s, i) => {
    const p = samples[i], dt = s.t - p.t;
    return [s.t, dt > 0 ? Math.max(0, (s[field] - p[field]) / dt) : 0];
  });
  lineChart($("chart-requests"), [
    {name: "requests/s", points: rate("requests")},
    {name: "4xx/s", points: rate("client_errors")},
    {name: "5xx/s", points: rate("server_errors")},
  ], (v) => v < 10 ? v.toFixed(2) : v.toFixed(0),
  "collecting samples (one every " + o.sample_interval_s + " s)");
}

// ---- actions -------------------------------------------------------------

async function act(fn, done) {
  try {
    await fn();
    toast(done);
    await refresh();
  } catch (e) {
    if (e.message !== "signed out") toast(e.message);
  }
}

function showSecret(k) {
  $("secret-tenant").textContent = k.tenant;
  $("secret-ak").textContent = k.access_key;
  $("secret-sk").textContent = k.secret_key;
  $("secret-dialog").hidden = false;
  $("secret-done").focus();
}

function hideSecret() {
  for (const id of ["secret-tenant", "secret-ak", "secret-sk"]) $(id).textContent = "";
  $("secret-dialog").hidden = true;
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    const body = {access_key: $("login-ak").value.trim(), secret_key: $("login-sk").value};
    $("login-sk").value = "";
    try {
      showDashboard(await call("POST", "login", body));
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await call("POST", "logout", {}); } catch (e) { /* signed out anyway */ }
    showLogin();
  });
  $("tenant-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = $("tenant-name").value.trim();
    act(() => call("POST", "admin/tenants", {name}), "tenant " + name + " created")
      .then(() => { $("tenant-name").value = ""; });
  });
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tenant = $("key-tenant").value;
    act(async () => {
      showSecret(await call("POST", "admin/keys", {tenant, read_only: $("key-ro").checked}));
    }, "key created for " + tenant);
  });
  $("quota-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tenant = $("quota-tenant").value;
    act(async () => {
      const body = {tenant,
        max_bytes: quotaLimit($("quota-bytes").value, true, "bytes"),
        max_objects: quotaLimit($("quota-objects").value, false, "objects")};
      if (body.max_bytes === undefined && body.max_objects === undefined)
        throw new Error("give a byte or an object limit (or none)");
      await call("POST", "admin/quotas", body);
      $("quota-bytes").value = $("quota-objects").value = "";
    }, "quota of " + tenant + " set");
  });
  $("secret-done").addEventListener("click", hideSecret);
  call("GET", "session").then(showDashboard).catch(showLogin);
});
