// deltaprop playground: the page. It draws what the server's deltaprop session computes;
// no network math happens here. State lives in the URL query (see docs/playground.md).
"use strict";

const CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#9467bd", "#d62728", "#8c564b",
                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const ALL_FEATURES = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];
const FEATURE_LABELS = {x1: "x\u2081", x2: "x\u2082", x1sq: "x\u2081\u00b2", x2sq: "x\u2082\u00b2",
                        x1x2: "x\u2081x\u2082", sinx1: "sin x\u2081", sinx2: "sin x\u2082"};

const app = {
  session: null, state: null, layout: null, source: null, playing: false,
  curve: [], frames: 0, frameTimes: [], lastFrame: null, probePoint: null,
  unitCanvases: [], edgeLines: [], busy: false,
};
window.playground = app;  // for tests and the curious: frames received, last frame

const $ = (id) => document.getElementById(id);

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// 256-entry diverging colour map: orange (low) - white (centre) - blue (high), as TF's.
const LUT = (() => {
  const lo = rgb("#f59322"), hi = rgb("#0877bd"), lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255 * 2 - 1, c = t < 0 ? lo : hi, s = Math.abs(t);
    for (let k = 0; k < 3; k++) lut[i * 3 + k] = Math.round(255 + (c[k] - 255) * s);
  }
  return lut;
})();

function decode(b64) {
  const bin = atob(b64), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function showError(message) {
  const box = $("error");
  if (message) { box.textContent = message; box.hidden = false; }
  else { box.textContent = ""; box.hidden = true; }
}

async function api(path, body, headers) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: headers || {"Content-Type": "application/json"},
    body: headers ? body : JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new Error("the playground server does not answer (is `deltaprop playground` running?)");
  }
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (err) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

function fmt(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "\u2013";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}

// ---------------------------------------------------------------- state <-> URL <-> controls
function stateFromUrl() {
  const params = new URLSearchParams(window.location.search), state = {};
  for (const [k, v] of params) state[k] = v;
  return state;
}

function writeUrl(state) {
  const query = new URLSearchParams(state).toString();
  window.history.replaceState(null, "", `${window.location.pathname}?${query}`);
}

function fillControls(state) {
  for (const el of document.querySelectorAll("[data-key]")) {
    const key = el.dataset.key;
    if (key in state) el.value = state[key];
  }
  $("noise-out").textContent = state.noise;
  $("ratio-out").textContent = `${Math.round(parseFloat(state.train_ratio) * 100)}%`;
  const layers = state.layers ? state.layers.split(",") : [];
  $("n-layers").textContent = layers.length;
}

async function applyState(changes) {
  const next = Object.assign({}, app.state, changes);
  try {
    const result = await api("/api/state", {session: app.session, state: next});
    app.state = result.state;
    writeUrl(app.state);
    showError(null);
  } catch (err) {
    showError(err.message);
  }
  fillControls(app.state);
}

function setupControls(options) {
  for (const [key, values] of Object.entries(options.choices)) {
    const select = document.querySelector(`select[data-key="${key}"]`);
    if (!select) continue;
    for (const v of values) {
      const opt = document.createElement("option");
      opt.value = v; opt.textContent = v;
      select.appendChild(opt);
    }
  }
  const csvOption = document.querySelector('#dataset option[value="csv"]');
  if (csvOption) csvOption.disabled = true;  // chosen by uploading a file
  for (const el of document.querySelectorAll("[data-key]")) {
    el.addEventListener("change", () => applyState({[el.dataset.key]: el.value}));
  }
  $("noise").addEventListener("input", () => { $("noise-out").textContent = $("noise").value; });
  $("play").addEventListener("click", () => control(app.playing ? "pause" : "play"));
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => { app.curve = []; control("reset"); });
  $("add-layer").addEventListener("click", () => changeLayers((l) => l.push(2)));
  $("remove-layer").addEventListener("click", () => changeLayers((l) => l.pop()));
  $("download").addEventListener("click", () => {
    window.location.href = `/api/model.npz?session=${encodeURIComponent(app.session)}`;
  });
  $("upload").addEventListener("change", upload);
  $("points").addEventListener("click", probe);
  $("show-test").addEventListener("change", drawPoints);
  window.addEventListener("resize", drawEdges);
}

function layerList() {
  return app.state.layers ? app.state.layers.split(",").map(Number) : [];
}

function changeLayers(edit) {
  const layers = layerList();
  edit(layers);
  applyState({layers: layers.join(",")});
}

async function control(action) {
  try {
    const result = await api("/api/control", {session: app.session, action});
    setPlaying(result.playing);
    if (result.error) showError(result.error); else if (action !== "pause") showError(null);
  } catch (err) {
    showError(err.message);
  }
}

function setPlaying(playing) {
  app.playing = playing;
  const button = $("play");
  button.classList.toggle("playing", playing);
  button.innerHTML = playing ? "&#10074;&#10074;" : "&#9654;";
  button.setAttribute("aria-pressed", playing ? "true" : "false");
}

async function upload() {
  const file = $("upload").files[0];
  if (!file) return;
  try {
    const result = await api(`/api/upload?session=${encodeURIComponent(app.session)}`, file,
                             {"Content-Type": "text/csv"});
    app.state = result.state;
    writeUrl(app.state);
    fillControls(app.state);
    showError(null);
  } catch (err) {
    showError(`CSV upload: ${err.message}`);
  }
  $("upload").value = "";
}

// ---------------------------------------------------------------------- the network view
function unitCanvas(size) {
  const canvas = document.createElement("canvas");
  canvas.width = size; canvas.height = size;
  return canvas;
}

function paintMap(canvas, bytes, offset, size) {
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(size, size), px = img.data;
  for (let i = 0; i < size * size; i++) {
    const v = bytes[offset + i] * 3;
    px[i * 4] = LUT[v]; px[i * 4 + 1] = LUT[v + 1]; px[i * 4 + 2] = LUT[v + 2]; px[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function buildNetwork(layout) {
  const columns = $("columns");
  columns.textContent = "";
  app.unitCanvases = [];
  app.nodes = [];  // per column: list of elements (edge anchors)
  const g = layout.neuron_grid;
  // inputs: every feature, chosen ones live
  const inputs = document.createElement("div");
  inputs.className = "column";
  inputs.innerHTML = '<div class="title">features</div>';
  const inputNodes = [];
  ALL_FEATURES.forEach((key) => {
    const index = layout.features.findIndex((f) => f.key === key);
    const unit = document.createElement("div");
    unit.className = "unit feature" + (index < 0 ? " off" : "");
    unit.dataset.testid = `feature-${key}`;
    unit.title = index < 0 ? "click to use this feature" : "click to drop this feature";
    const name = document.createElement("span");
    name.className = "name"; name.textContent = FEATURE_LABELS[key];
    const canvas = unitCanvas(g);
    unit.append(name, canvas);
    if (index >= 0) {
      paintMap(canvas, decode(layout.feature_maps[index]), 0, g);
      inputNodes.push(canvas);
    }
    unit.addEventListener("click", () => toggleFeature(key));
    inputs.appendChild(unit);
  });
  columns.appendChild(inputs);
  app.nodes.push(inputNodes);
  layout.layers.forEach((layer, li) => {
    const last = li === layout.layers.length - 1;
    const col = document.createElement("div");
    col.className = "column";
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = last ? `output (${layout.output_activation})`
                             : `${layer.units} ${layer.activation}`;
    col.appendChild(title);
    if (!last) {
      const buttons = document.createElement("div");
      const plus = document.createElement("button"), minus = document.createElement("button");
      plus.textContent = "+"; minus.textContent = "\u2212";
      plus.title = "add a unit"; minus.title = "remove a unit";
      plus.addEventListener("click", () => changeLayers((l) => { l[li] += 1; }));
      minus.addEventListener("click", () => changeLayers((l) => {
        if (l[li] > 1) l[li] -= 1; else l.splice(li, 1);
      }));
      buttons.append(plus, minus);
      col.appendChild(buttons);
    }
    const nodes = [], canvases = [];
    for (let u = 0; u < layer.shown; u++) {
      const unit = document.createElement("div");
      unit.className = last ? "unit outunit" : "unit";
      if (last) {
        const box = document.createElement("div");
        box.className = "box";
        box.textContent = layout.classes ? layout.classes[u] : "\u0177";
        if (layout.classes) box.style.borderColor = CLASS_COLORS[u % CLASS_COLORS.length];
        unit.appendChild(box);
        nodes.push(box);
      } else {
        const canvas = unitCanvas(g);
        canvas.title = `layer ${li + 1}, unit ${u + 1}: h over the input plane`;
        unit.appendChild(canvas);
        nodes.push(canvas); canvases.push(canvas);
      }
      col.appendChild(unit);
    }
    if (layer.units > layer.shown) {
      const more = document.createElement("div");
      more.className = "more";
      more.textContent = `+${layer.units - layer.shown} more units`;
      col.appendChild(more);
    }
    const stats = document.createElement("div");
    stats.className = "stats";
    col.appendChild(stats);
    layer.statsEl = stats;
    columns.appendChild(col);
    app.nodes.push(nodes);
    if (!last) app.unitCanvases.push(canvases);
  });
  drawEdges();
  window.requestAnimationFrame(drawEdges);  // again once the columns have their final size
}

function toggleFeature(key) {
  const chosen = new Set(app.state.features.split(",").filter((f) => f));
  if (chosen.has(key)) chosen.delete(key); else chosen.add(key);
  applyState({features: ALL_FEATURES.filter((f) => chosen.has(f)).join(",")});
}

function drawEdges() {
  const svg = $("edges"), net = $("network");
  if (!app.nodes) return;
  svg.textContent = "";
  app.edgeLines = [];
  const box = net.getBoundingClientRect();
  svg.setAttribute("width", net.scrollWidth);
  svg.setAttribute("height", net.scrollHeight);
  const anchor = (el, side) => {
    const r = el.getBoundingClientRect();
    return [(side ? r.right : r.left) - box.left + net.scrollLeft, r.top + r.height / 2 - box.top];
  };
  for (let l = 1; l < app.nodes.length; l++) {
    const lines = [];
    app.nodes[l].forEach((target, j) => {
      const row = [];
      const [x2, y2] = anchor(target, false);
      app.nodes[l - 1].forEach((source) => {
        const [x1, y1] = anchor(source, true);
        const line = document.createElementNS("http://www.w3.org/2000/svg", "line");
        line.setAttribute("x1", x1); line.setAttribute("y1", y1);
        line.setAttribute("x2", x2); line.setAttribute("y2", y2);
        line.setAttribute("stroke", "#ccc");
        svg.appendChild(line);
        row.push(line);
      });
      lines.push(row);
    });
    app.edgeLines.push(lines);
  }
  if (app.lastFrame) paintEdges(app.lastFrame.weights);
}

function paintEdges(weights) {
  if (!weights) return;
  weights.forEach((W, l) => {
    const lines = app.edgeLines[l];
    if (!lines) return;
    let scale = 0;
    for (const row of W) for (const w of row) scale = Math.max(scale, Math.abs(w));
    scale = Math.max(scale, 1e-9);
    W.forEach((row, j) => {
      if (!lines[j]) return;
      row.forEach((w, i) => {
        const line = lines[j][i];
        if (!line) return;
        const s = Math.abs(w) / scale;
        line.setAttribute("stroke", w >= 0 ? "#0877bd" : "#f59322");
        line.setAttribute("stroke-width", (0.4 + 3.6 * s).toFixed(2));
        line.setAttribute("stroke-opacity", (0.25 + 0.75 * s).toFixed(2));
        if (!line.firstChild) {
          line.appendChild(document.createElementNS("http://www.w3.org/2000/svg", "title"));
        }
        line.firstChild.textContent = `w = ${w}`;
      });
    });
  });
}

// ----------------------------------------------------------------- output plane and curve
function toCanvas(x1, x2) {
  const [a, b, c, d] = app.layout.domain, W = $("points").width, H = $("points").height;
  return [(x1 - a) / (b - a) * W, (d - x2) / (d - c) * H];
}

function pointColor(label) {
  if (app.layout.task === "classification") return CLASS_COLORS[label % CLASS_COLORS.length];
  const [center, half] = app.layout.y_range, v = Math.round(((label - center) / half + 1) * 127.5);
  const i = Math.max(0, Math.min(255, v)) * 3;
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

function drawPoints() {
  const canvas = $("points"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!app.layout) return;
  const draw = (points, stroke) => {
    for (const [x1, x2, y] of points) {
      const [px, py] = toCanvas(x1, x2);
      ctx.beginPath();
      ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = pointColor(y);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    }
  };
  draw(app.layout.train, "#fff");
  if ($("show-test").checked) draw(app.layout.test, "#000");
  if (app.probePoint) {
    const [px, py] = toCanvas(app.probePoint[0], app.probePoint[1]);
    ctx.beginPath();
    ctx.arc(px, py, 7, 0, 2 * Math.PI);
    ctx.lineWidth = 2; ctx.strokeStyle = "#111";
    ctx.stroke();
  }
}

function paintOutput(output) {
  const G = app.layout.grid, canvas = $("heatmap");
  if (canvas.width !== G) { canvas.width = G; canvas.height = G; }
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(G, G), px = img.data;
  const bytes = decode(output.data), n = G * G;
  if (output.kind === "classes") {
    const k = bytes.length / n, colors = [];
    for (let c = 0; c < k; c++) colors.push(rgb(CLASS_COLORS[c % CLASS_COLORS.length]));
    for (let i = 0; i < n; i++) {
      let best = 0, bestP = -1;
      for (let c = 0; c < k; c++) {
        const p = bytes[c * n + i];
        if (p > bestP) { bestP = p; best = c; }
      }
      const conf = Math.max(0, (bestP / 255 - 1 / k) / (1 - 1 / k)) * 0.75;
      for (let ch = 0; ch < 3; ch++) px[i * 4 + ch] = Math.round(255 + (colors[best][ch] - 255) * conf);
      px[i * 4 + 3] = 255;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = bytes[i] * 3;
      px[i * 4] = LUT[v]; px[i * 4 + 1] = LUT[v + 1]; px[i * 4 + 2] = LUT[v + 2]; px[i * 4 + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

function drawCurve() {
  const canvas = $("curve"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const pts = app.curve.filter((p) => p[1] !== null || p[2] !== null);
  if (pts.length < 2) return;
  let top = 0;
  for (const p of pts) top = Math.max(top, p[1] || 0, p[2] || 0);
  top = top || 1;
  const first = pts[0][0], last = pts[pts.length - 1][0] || 1, span = Math.max(last - first, 1);
  const line = (k, color) => {
    ctx.beginPath();
    let started = false;
    for (const p of pts) {
      if (p[k] === null) continue;
      const x = (p[0] - first) / span * (W - 2) + 1, y = H - 2 - p[k] / top * (H - 4);
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    }
    ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.stroke();
  };
  line(1, "#999");
  line(2, "#111");
}

function legend(layout) {
  const box = $("legend");
  box.textContent = "";
  if (layout.task === "classification") {
    layout.classes.forEach((name, c) => {
      const item = document.createElement("span"), sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = CLASS_COLORS[c % CLASS_COLORS.length];
      item.append(sw, `class ${name}`);
      box.appendChild(item);
    });
  } else {
    const [center, half] = layout.y_range;
    box.textContent = `regression: orange ${fmt(center - half, 2)} \u2192 white ${fmt(center, 2)} \u2192 blue ${fmt(center + half, 2)}`;
  }
  const info = document.createElement("span");
  info.textContent = `loss: ${layout.loss}; white rings: training, black: test data`;
  box.appendChild(info);
}

// --------------------------------------------------------------------- stream handling
function onLayout(layout) {
  app.layout = layout;
  app.state = layout.state;
  app.curve = layout.curve.slice();
  app.probePoint = null;
  writeUrl(app.state);
  fillControls(app.state);
  buildNetwork(layout);
  legend(layout);
  drawPoints();
  document.body.dataset.dataset = layout.dataset;
  document.body.dataset.layoutVersion = layout.version;
}

function onFrame(frame) {
  if (!app.layout || frame.version !== app.layout.version) return;
  app.frames += 1;
  app.frameTimes.push(performance.now());
  if (app.frameTimes.length > 240) app.frameTimes.shift();
  app.lastFrame = frame;
  $("epoch").textContent = String(frame.epoch);
  $("train-loss").textContent = fmt(frame.train_loss);
  $("test-loss").textContent = fmt(frame.test_loss);
  $("accuracy").textContent = frame.test_accuracy === null ? "" :
    `Accuracy: training ${(100 * frame.train_accuracy).toFixed(1)}%, test ${(100 * frame.test_accuracy).toFixed(1)}%`;
  $("lr-now").textContent = `learning rate now: ${fmt(frame.learning_rate, 5)}`;
  if (frame.playing !== app.playing) setPlaying(frame.playing);
  if (frame.error) showError(frame.error);
  for (const p of frame.points) {
    const last = app.curve[app.curve.length - 1];
    if (!last || last[0] !== p[0]) app.curve.push(p);
  }
  if (app.curve.length > 4000) app.curve = app.curve.filter((_, i) => i % 2 === 0);
  const g = app.layout.neuron_grid, n = g * g;
  frame.maps.forEach((b64, l) => {
    const bytes = decode(b64), canvases = app.unitCanvases[l] || [];
    canvases.forEach((canvas, u) => paintMap(canvas, bytes, u * n, g));
  });
  paintOutput(frame.output);
  paintEdges(frame.weights);
  drawCurve();
  diagnostics(frame);
}

function diagnostics(frame) {
  const body = document.querySelector("#diagnostics tbody");
  body.textContent = "";
  const pct = (v) => v === null || v === undefined ? "\u2013" : `${(100 * v).toFixed(0)}%`;
  const top = Math.max(1e-12, ...frame.grad_norms.map((v) => v || 0));
  app.layout.layers.forEach((layer, l) => {
    const last = l === app.layout.layers.length - 1, tr = document.createElement("tr");
    const g = frame.grad_norms[l];
    const cells = [last ? "output" : `hidden ${l + 1}`, g === null || g === undefined ? "\u2013" : fmt(g, 3),
                   last ? "" : pct(frame.saturated[l]), last ? "" : pct(frame.dead[l])];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 1 && g) {
        const bar = document.createElement("span");
        bar.className = "bar"; bar.style.width = `${Math.round(30 * g / top)}px`;
        td.appendChild(bar);
      }
      td.append(text);
      tr.appendChild(td);
    });
    body.appendChild(tr);
    if (layer.statsEl) {
      layer.statsEl.textContent = `\u2016\u2207W\u2016 ${g === null || g === undefined ? "\u2013" : fmt(g, 3)}` +
        (last ? "" : ` \u00b7 sat ${pct(frame.saturated[l])} \u00b7 dead ${pct(frame.dead[l])}`);
    }
  });
}

// ------------------------------------------------------------------------------- probe
async function probe(event) {
  if (!app.layout) return;
  const canvas = $("points"), r = canvas.getBoundingClientRect();
  const [a, b, c, d] = app.layout.domain;
  const x1 = a + (event.clientX - r.left) / r.width * (b - a);
  const x2 = d - (event.clientY - r.top) / r.height * (d - c);
  try {
    const result = await api("/api/probe", {session: app.session, x1, x2});
    app.probePoint = result.point;
    drawPoints();
    showProbe(result);
    showError(result.error || null);
  } catch (err) {
    showError(err.message);
  }
}

function vec(v) {
  return v.map((x) => fmt(x, 3)).join(", ");
}

function showProbe(result) {
  $("probe").hidden = false;
  $("probe-summary").textContent =
    `training point #${result.index} at (${vec(result.point)}), target ${result.label}; ` +
    `prediction before the step: ${result.prediction}; loss ${fmt(result.loss)} \u2192 ` +
    `${result.loss_after === undefined ? "\u2013" : fmt(result.loss_after)} after one update ` +
    `with \u03b7 = ${result.lr}`;
  $("probe-output").textContent = JSON.stringify({point: result.point, output: result.output});
  const box = $("probe-layers");
  box.textContent = "";
  const table = document.createElement("table");
  const head = document.createElement("tr");
  head.innerHTML = "<th>layer l</th><th>a<sup>l</sup> (pre-activation)</th><th>h<sup>l</sup> = \u03c6(a<sup>l</sup>)</th><th>\u03b4<sup>l</sup> (error)</th><th>\u2016\u0394W\u2016 = \u03b7\u2016\u2202L/\u2202W\u2016</th>";
  table.appendChild(head);
  const input = document.createElement("tr");
  [`input (${result.features.join(", ")}, standardized)`, "", vec(result.input), "", ""].forEach((t) => {
    const td = document.createElement(input.children.length ? "td" : "th");
    td.textContent = t; input.appendChild(td);
  });
  table.appendChild(input);
  result.layers.forEach((layer, l) => {
    const tr = document.createElement("tr");
    let norm = 0;
    for (const row of layer.grad_W) for (const g of row) norm += g * g;
    [`${l + 1} (${layer.activation})`, vec(layer.a), vec(layer.h), vec(layer.delta),
     fmt(result.lr * Math.sqrt(norm), 4)].forEach((t, i) => {
      const td = document.createElement(i ? "td" : "th");
      td.textContent = t; tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  box.appendChild(table);
  $("probe-text").textContent = result.text;
}

// -------------------------------------------------------------------------------- start
function connect() {
  if (app.source) app.source.close();
  const source = new EventSource(`/api/events?session=${encodeURIComponent(app.session)}`);
  app.source = source;
  source.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "layout") onLayout(message);
    else if (message.type === "frame") onFrame(message);
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      showError("lost the connection to the playground server; reload the page");
    }
  };
}

async function start() {
  try {
    const options = await api("/api/options");
    setupControls(options);
    let requested = stateFromUrl(), created;
    try {
      created = await api("/api/session", {state: requested});
    } catch (err) {
      showError(`${err.message} (the page started with the default settings instead)`);
      created = await api("/api/session", {state: {}});
    }
    app.session = created.session;
    app.state = created.state;
    writeUrl(app.state);
    fillControls(app.state);
    connect();
  } catch (err) {
    showError(err.message);
  }
}

window.addEventListener("beforeunload", () => { if (app.source) app.source.close(); });
start();
