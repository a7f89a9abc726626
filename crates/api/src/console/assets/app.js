// Platter's web console: one page, no framework, no build step.
//
// Everything it shows or does goes through the public APIs, mounted on
// this origin: Keystone under /api/identity, Cinder under /api/volume,
// Nova under /api/compute. The console's own endpoints (/console/...)
// give what no public API says: metric series and unfinished jobs.
//
// Values from the server reach the page only as text (textContent, or
// attributes set one by one), never as HTML.
"use strict";

(() => {
  const CINDER_MICROVERSION = "volume 3.50";
  const REFRESH_MS = 3000;
  const PLOT_MS = 2000;
  const STORE_KEY = "platter-console-session";

  let session = loadSession();
  let currentView = "volumes";
  let selectedVolume = null;
  let serversById = new Map();
  let refreshing = false;
  let plotting = false;

  // --- DOM helpers -----------------------------------------------------

  const $ = (id) => document.getElementById(id);

  // el("td", {className: "x", dataset: {id: "1"}}, "text", childNode)
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "dataset") {
        for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
      } else if (key === "on") {
        for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      } else {
        node[key] = value;
      }
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function fillTable(table, rows, emptyText) {
    const body = $(table).tBodies[0];
    const columns = $(table).tHead.rows[0].cells.length;
    if (rows.length === 0) {
      rows = [el("tr", {className: "empty"}, el("td", {colSpan: columns}, emptyText))];
    }
    body.replaceChildren(...rows);
  }

  function statusCell(status) {
    return el("td", {}, el("span", {className: "status status-" + String(status).replace(/[^A-Za-z_-]/g, "")}, status));
  }

  function notify(message, isError) {
    const box = $("status");
    box.textContent = message;
    box.className = isError ? "error" : "ok";
    box.dataset.kind = isError ? "error" : "ok";
  }

  // A button that acts only on a second click within a few seconds. The
  // armed state is kept by `key`, so a table redrawn meanwhile keeps it.
  const armed = new Map();

  function confirmButton(label, key, action) {
    const button = el("button", {type: "button", className: "danger"});
    const draw = () => {
      button.textContent = armed.has(key) ? "Confirm " + label.toLowerCase() : label;
      button.classList.toggle("armed", armed.has(key));
    };
    button.addEventListener("click", () => {
      if (armed.has(key)) {
        clearTimeout(armed.get(key));
        armed.delete(key);
        draw();
        action();
        return;
      }
      armed.set(key, setTimeout(() => {
        armed.delete(key);
        draw();
      }, 5000));
      draw();
    });
    draw();
    return button;
  }

  // --- Session -----------------------------------------------------------

  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      if (s && s.token && Date.parse(s.expires) > Date.now()) return s;
    } catch (e) {
      // A damaged entry is no session.
    }
    return null;
  }

  function saveSession(s) {
    session = s;
    if (s) sessionStorage.setItem(STORE_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(STORE_KEY);
  }

  // --- API calls -------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // Error bodies: Keystone's {"error": {"message"}}, Cinder's and Nova's
  // {"badRequest": {"message"}}, EVS's {"error": {"message"}} ...
  function errorMessage(data, resp) {
    if (data && typeof data === "object") {
      for (const value of Object.values(data)) {
        if (value && typeof value === "object" && value.message) return String(value.message);
      }
      if (data.error_msg) return String(data.error_msg);
    }
    return resp.status + " " + resp.statusText;
  }

  async function call(method, url, body, headers) {
    const h = Object.assign({"Accept": "application/json"}, headers || {});
    if (session) h["X-Auth-Token"] = session.token;
    const init = {method, headers: h};
    if (body !== undefined) {
      h["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(url, init);
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = text;
    }
    if (resp.status === 401 && session && !url.startsWith("/api/identity/v3/auth/tokens")) {
      logout("Your session has ended; log in again.");
    }
    if (!resp.ok) throw new ApiError(resp.status, errorMessage(data, resp));
    return {data, resp};
  }

  const project = () => encodeURIComponent(session.project);
  const cinder = (method, path, body) =>
    call(method, "/api/volume/v3/" + project() + path, body, {"OpenStack-API-Version": CINDER_MICROVERSION});
  const nova = (method, path, body) => call(method, "/api/compute/v2.1/" + project() + path, body);
  const evs = (method, path, body) => call(method, "/api/volume/v1/" + project() + path, body);

  // Runs an action, reporting what happened, then refreshes the view.
  async function act(description, fn) {
    notify(description + "…");
    try {
      await fn();
      notify(description + ": accepted.");
    } catch (e) {
      notify(description + ": " + e.message, true);
    }
    refresh();
  }

  // --- Login -------------------------------------------------------------

  async function login(event) {
    event.preventDefault();
    const form = new FormData($("login-form"));
    const domain = {name: form.get("domain")};
    const body = {
      auth: {
        identity: {
          methods: ["password"],
          password: {user: {name: form.get("user"), domain, password: form.get("password")}},
        },
        scope: {project: {name: form.get("project"), domain}},
      },
    };
    try {
      const {data, resp} = await call("POST", "/api/identity/v3/auth/tokens", body);
      const token = resp.headers.get("X-Subject-Token");
      if (!token) throw new Error("no X-Subject-Token in the answer");
      const t = data.token;
      saveSession({
        token,
        expires: t.expires_at,
        project: t.project.id,
        projectName: t.project.name,
        user: t.user.name,
        admin: (t.roles || []).some((r) => r.name === "admin"),
      });
      $("login-password").value = "";
      notify("Logged in as " + t.user.name + ".");
      enter();
    } catch (e) {
      notify("Login failed: " + e.message, true);
    }
  }

  function logout(message) {
    if (session) {
      const token = session.token;
      fetch("/api/identity/v3/auth/tokens", {
        method: "DELETE",
        headers: {"X-Auth-Token": token, "X-Subject-Token": token},
      }).catch(() => {});
    }
    saveSession(null);
    selectedVolume = null;
    $("nav").hidden = true;
    $("whoami").hidden = true;
    for (const view of document.querySelectorAll(".view")) view.hidden = true;
    $("login-view").hidden = false;
    notify(typeof message === "string" ? message : "Logged out.");
  }

  function enter() {
    $("login-view").hidden = true;
    $("nav").hidden = false;
    $("whoami").hidden = false;
    $("who").textContent = session.user + " @ " + session.projectName + (session.admin ? " (admin)" : "");
    for (const b of document.querySelectorAll("[data-admin]")) b.hidden = !session.admin;
    show("volumes");
  }

  // --- Views -------------------------------------------------------------

  function show(name) {
    currentView = name;
    for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== "view-" + name;
    for (const b of document.querySelectorAll("#nav button")) {
      b.classList.toggle("current", b.dataset.view === name);
    }
    refresh();
  }

  async function refresh() {
    if (!session || refreshing) return;
    refreshing = true;
    try {
      await VIEWS[currentView]();
    } catch (e) {
      if (session) notify("Could not load " + currentView + ": " + e.message, true);
    } finally {
      refreshing = false;
    }
  }

  async function loadServers() {
    try {
      const {data} = await nova("GET", "/servers/detail");
      serversById = new Map(data.servers.map((s) => [s.id, s]));
    } catch (e) {
      serversById = new Map();
    }
    return serversById;
  }

  function serverName(id) {
    const s = serversById.get(id);
    return s ? s.name + " (" + id.slice(0, 8) + ")" : id;
  }

  async function volumesView() {
    await loadServers();
    const {data} = await cinder("GET", "/volumes/detail");
    const volumes = data.volumes;
    const rows = volumes.map((v) => el("tr", {dataset: {volumeId: v.id, status: v.status}},
      el("td", {}, v.name || "–"),
      el("td", {}, el("code", {}, v.id)),
      statusCell(v.status),
      el("td", {}, v.size + " GiB"),
      el("td", {}, v.volume_type || ""),
      el("td", {}, (v.attachments || []).map((a) => serverName(a.server_id)).join(", ")),
      el("td", {}, el("button", {type: "button", on: {click: () => selectVolume(v.id)}}, "Details"))));
    fillTable("volumes-table", rows, "No volumes.");

    const select = $("attach-server");
    const chosen = select.value;
    const options = [...serversById.values()].map((s) =>
      el("option", {value: s.id}, s.name + " (" + s.status + ")"));
    if (options.length === 0) options.push(el("option", {value: ""}, "no servers"));
    select.replaceChildren(...options);
    if (chosen) select.value = chosen;

    const selected = volumes.find((v) => v.id === selectedVolume);
    if (selectedVolume && !selected) {
      selectedVolume = null;
    }
    renderDetail(selected || null);
  }

  function renderDetail(v) {
    $("volume-detail").hidden = !v;
    if (!v) return;
    $("detail-name").textContent = v.name || v.id;
    $("detail-id").textContent = v.id;
    $("detail-status").textContent = v.status;
    $("detail-size").textContent = String(v.size);
    if (!$("extend-size").value) $("extend-size").value = String(v.size + 1);
  }

  function deleteButton(id) {
    const button = confirmButton("Delete", "volume:" + id, deleteVolume);
    button.id = "delete-volume";
    return button;
  }

  function selectVolume(id) {
    if (selectedVolume !== id) {
      $("extend-size").value = "";
      $("delete-volume").replaceWith(deleteButton(id));
      for (const canvas of ["iops-plot", "throughput-plot"]) plot($(canvas), [], {});
    }
    selectedVolume = id;
    refresh().then(plotVolume);
  }

  async function snapshotsView() {
    const {data} = await cinder("GET", "/snapshots/detail");
    const rows = data.snapshots.map((s) => el("tr", {dataset: {snapshotId: s.id, status: s.status}},
      el("td", {}, s.name || "–"),
      el("td", {}, el("code", {}, s.id)),
      el("td", {}, el("code", {}, s.volume_id)),
      statusCell(s.status),
      el("td", {}, s.size + " GiB"),
      el("td", {}, s.created_at || ""),
      el("td", {}, confirmButton("Delete", "snapshot:" + s.id, () =>
        act("Delete snapshot " + (s.name || s.id), () => cinder("DELETE", "/snapshots/" + encodeURIComponent(s.id)))))));
    fillTable("snapshots-table", rows, "No snapshots.");
  }

  async function attachmentsView() {
    await loadServers();
    const {data} = await cinder("GET", "/attachments/detail");
    const rows = data.attachments.map((a) => {
      const viaNova = serversById.has(a.instance);
      const detach = () => viaNova
        ? nova("DELETE", "/servers/" + encodeURIComponent(a.instance) + "/os-volume_attachments/" + encodeURIComponent(a.volume_id))
        : cinder("DELETE", "/attachments/" + encodeURIComponent(a.id));
      return el("tr", {dataset: {attachmentId: a.id, status: a.status}},
        el("td", {}, el("code", {}, a.id)),
        el("td", {}, el("code", {}, a.volume_id)),
        el("td", {}, a.instance ? serverName(a.instance) : ""),
        statusCell(a.status),
        el("td", {}, a.attach_mode || ""),
        el("td", {}, a.attached_at || ""),
        el("td", {}, confirmButton("Detach", "attachment:" + a.id, () => act("Detach volume " + a.volume_id, detach))));
    });
    fillTable("attachments-table", rows, "No attachments.");
  }

  async function serversView() {
    const servers = [...(await loadServers()).values()];
    const rows = servers.map((s) => el("tr", {dataset: {serverId: s.id, status: s.status}},
      el("td", {}, s.name),
      el("td", {}, el("code", {}, s.id)),
      statusCell(s.status),
      el("td", {}, String(s["OS-EXT-STS:power_state"] ?? "")),
      el("td", {}, (s["os-extended-volumes:volumes_attached"] || []).map((v) => v.id).join(", "))));
    fillTable("servers-table", rows, "No servers.");
  }

  async function jobsView() {
    const {data} = await call("GET", "/console/jobs");
    fillTable("jobs-table", data.jobs.map((j) => el("tr", {dataset: {jobId: j.id, status: j.status}},
      el("td", {}, el("code", {}, j.id)),
      el("td", {}, j.kind),
      statusCell(j.status),
      el("td", {}, el("code", {}, j.resource_id)),
      el("td", {}, el("code", {}, j.project_id)),
      el("td", {}, String(j.step)),
      el("td", {}, j.created_at || ""))), "No job is queued or running.");

    const [volumes, snapshots] = await Promise.all([
      cinder("GET", "/volumes/detail"), cinder("GET", "/snapshots/detail")]);
    const moving = (s) => /ing$/.test(s) || s === "reserved";
    const rows = [
      ...volumes.data.volumes.filter((v) => moving(v.status)).map((v) => ["volume", v]),
      ...snapshots.data.snapshots.filter((s) => moving(s.status)).map((s) => ["snapshot", s]),
    ].map(([kind, r]) => el("tr", {}, el("td", {}, kind), el("td", {}, r.name || "–"),
      el("td", {}, el("code", {}, r.id)), statusCell(r.status)));
    fillTable("transitions-table", rows, "Nothing is in transition.");
  }

  async function lookupJob(event) {
    event.preventDefault();
    const id = $("job-id").value.trim();
    try {
      const {data} = await evs("GET", "/jobs/" + encodeURIComponent(id));
      $("job-result").textContent = JSON.stringify(data, null, 2);
    } catch (e) {
      $("job-result").textContent = e.message;
    }
  }

  async function quotasView() {
    const {data} = await cinder("GET", "/os-quota-sets/" + project() + "?usage=true");
    const rows = Object.entries(data.quota_set)
      .filter(([, v]) => v && typeof v === "object" && "limit" in v)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, v]) => el("tr", {dataset: {quota: key}},
        el("td", {}, key),
        el("td", {}, String(v.in_use)),
        el("td", {}, String(v.reserved ?? 0)),
        el("td", {}, v.limit < 0 ? "unlimited" : String(v.limit))));
    fillTable("quotas-table", rows, "No quotas.");
  }

  async function poolsView() {
    const [{data}, series] = await Promise.all([
      cinder("GET", "/scheduler-stats/get_pools?detail=true"),
      call("GET", "/console/series/pools"),
    ]);
    const rows = data.pools.map((p) => {
      const c = p.capabilities || {};
      return el("tr", {dataset: {pool: p.name}},
        el("td", {}, p.name),
        el("td", {}, c.volume_backend_name || ""),
        el("td", {}, String(c.total_capacity_gb ?? "")),
        el("td", {}, String(c.free_capacity_gb ?? "")),
        el("td", {}, String(c.allocated_capacity_gb ?? "")),
        el("td", {}, c.thin_provisioning_support ? "yes" : "no"));
    });
    fillTable("pools-table", rows, "No pools.");
    const lines = [];
    for (const p of series.data.pools) {
      lines.push({label: p.pool + " capacity", points: p.capacity});
      lines.push({label: p.pool + " allocated", points: p.allocated});
    }
    plot($("capacity-plot"), lines, {now: series.data.now, format: fmtBytes, base: 1024});
  }

  const VIEWS = {
    volumes: volumesView,
    snapshots: snapshotsView,
    attachments: attachmentsView,
    servers: serversView,
    jobs: jobsView,
    quotas: quotasView,
    pools: poolsView,
  };

  // --- Volume actions ---------------------------------------------------

  function createVolume(event) {
    event.preventDefault();
    const name = $("new-volume-name").value.trim();
    const size = Number($("new-volume-size").value);
    const volume = {size};
    if (name) volume.name = name;
    act("Create volume " + (name || "") + " (" + size + " GiB)", async () => {
      const {data} = await cinder("POST", "/volumes", {volume});
      selectVolume(data.volume.id);
    });
  }

  function onSelected(description, fn) {
    return (event) => {
      if (event) event.preventDefault();
      const id = selectedVolume;
      if (!id) return;
      act(description(id), () => fn(id));
    };
  }

  const extendVolume = onSelected((id) => "Extend volume " + id, (id) =>
    cinder("POST", "/volumes/" + encodeURIComponent(id) + "/action",
      {"os-extend": {new_size: Number($("extend-size").value)}}));

  const snapshotVolume = onSelected((id) => "Snapshot volume " + id, (id) => {
    const snapshot = {volume_id: id, force: true};
    const name = $("snapshot-name").value.trim();
    if (name) snapshot.name = name;
    return cinder("POST", "/snapshots", {snapshot});
  });

  const attachVolume = onSelected((id) => "Attach volume " + id, (id) => {
    const server = $("attach-server").value;
    if (!server) throw new Error("no server to attach to");
    return nova("POST", "/servers/" + encodeURIComponent(server) + "/os-volume_attachments",
      {volumeAttachment: {volumeId: id}});
  });

  const deleteVolume = onSelected((id) => "Delete volume " + id, (id) =>
    cinder("DELETE", "/volumes/" + encodeURIComponent(id)));

  // --- Plots -------------------------------------------------------------

  async function plotVolume() {
    if (!session || !selectedVolume || currentView !== "volumes" || plotting) return;
    plotting = true;
    const id = selectedVolume;
    try {
      const {data} = await call("GET", "/console/series/volumes/" + encodeURIComponent(id));
      if (id !== selectedVolume) return;
      plot($("iops-plot"), data.iops, {now: data.now, format: fmtCount});
      plot($("throughput-plot"), data.throughput, {now: data.now, format: fmtBytes, base: 1024});
    } catch (e) {
      if (e.status === 404) selectedVolume = null;
    } finally {
      plotting = false;
    }
  }

  const COLORS = ["#2463eb", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#5d6d7e"];
  const UNITS = ["", "k", "M", "G", "T", "P"];
  const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

  function fmtCount(v) {
    let i = 0;
    while (Math.abs(v) >= 1000 && i < UNITS.length - 1) { v /= 1000; i++; }
    return (v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)) + UNITS[i];
  }

  function fmtBytes(v) {
    let i = 0;
    while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) { v /= 1024; i++; }
    return (v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)) + " " + BYTE_UNITS[i];
  }

  // A round step near range/ticks: 1, 2 or 5 times a power of ten.
  function niceStep(range, ticks) {
    const raw = range / ticks;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }

  // Draws lines [{label, points: [[t, v], ...]}] against seconds before
  // `now`. The canvas keeps what it shows in data attributes: the number
  // of points, the sum of the series at their last sample (data-last) and
  // the largest such sum in the window (data-peak).
  function plot(canvas, lines, {now, format, base}) {
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const left = 64, right = 12, top = 26, bottom = 24;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "11px sans-serif";
    ctx.textBaseline = "middle";

    const all = lines.flatMap((l) => l.points);
    const sums = new Map();
    for (const [t, v] of all) sums.set(t, (sums.get(t) || 0) + v);
    const lastT = all.length ? Math.max(...all.map((p) => p[0])) : 0;
    canvas.dataset.points = String(all.length);
    canvas.dataset.last = String(sums.get(lastT) || 0);
    canvas.dataset.peak = String(Math.max(0, ...sums.values()));

    if (all.length === 0) {
      ctx.fillStyle = "#888";
      ctx.textAlign = "center";
      ctx.fillText("No data yet", W / 2, H / 2);
      return;
    }
    now = now || lastT;
    const t0 = Math.min(now - 60, ...all.map((p) => p[0]));
    const yMax = Math.max(1, ...all.map((p) => p[1])) * 1.1;
    const x = (t) => left + (W - left - right) * (t - t0) / (now - t0);
    const y = (v) => H - bottom - (H - top - bottom) * v / yMax;

    // Grid and axes.
    ctx.strokeStyle = "#ddd";
    ctx.fillStyle = "#555";
    ctx.textAlign = "right";
    // Ticks round in the unit shown: KiB, MiB, ... for bytes.
    const unit = base ? Math.pow(base, Math.max(0, Math.floor(Math.log(yMax) / Math.log(base)))) : 1;
    const yStep = niceStep(yMax / unit, 5) * unit;
    for (let v = 0; v <= yMax; v += yStep) {
      ctx.beginPath();
      ctx.moveTo(left, y(v));
      ctx.lineTo(W - right, y(v));
      ctx.stroke();
      ctx.fillText(format(v), left - 6, y(v));
    }
    ctx.textAlign = "center";
    const xStep = niceStep(now - t0, 5);
    for (let ago = 0; now - ago >= t0; ago += xStep) {
      ctx.fillText(ago === 0 ? "now" : "-" + Math.round(ago) + "s", x(now - ago), H - bottom / 2);
    }

    // Lines and legend.
    ctx.textAlign = "left";
    let legendX = left;
    lines.forEach((line, i) => {
      if (line.points.length === 0) return;
      const color = COLORS[i % COLORS.length];
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      line.points.forEach(([t, v], j) => (j ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
      ctx.stroke();
      ctx.lineWidth = 1;
      const last = line.points[line.points.length - 1][1];
      const text = line.label + " " + format(last);
      ctx.fillStyle = color;
      ctx.fillRect(legendX, 8, 10, 10);
      ctx.fillStyle = "#222";
      ctx.fillText(text, legendX + 14, 13);
      legendX += ctx.measureText(text).width + 30;
    });
  }

  // --- Start -------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("create-volume").addEventListener("submit", createVolume);
    $("extend-form").addEventListener("submit", extendVolume);
    $("snapshot-form").addEventListener("submit", snapshotVolume);
    $("attach-form").addEventListener("submit", attachVolume);
    $("job-lookup").addEventListener("submit", lookupJob);
    $("delete-volume").replaceWith(deleteButton(""));
    for (const b of document.querySelectorAll("#nav button")) {
      b.addEventListener("click", () => show(b.dataset.view));
    }
    setInterval(refresh, REFRESH_MS);
    setInterval(plotVolume, PLOT_MS);
    if (session) enter();
  });
})();
