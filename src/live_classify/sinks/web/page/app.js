// The live page: the video (H.264 in a <video>, or MJPEG in an <img>: live.js), the top-k from /api/events, the counters from /api/status,
// the events going on and the recent ones (SSE messages named "event", and /api/status's list).
// With several cameras: one tile per camera, each its own stream, label and state.
"use strict";
const token = new URLSearchParams(location.search).get("token");
if (token) document.getElementById("logout").hidden = true; // a URL with the token cannot be logged out of
const $ = (id) => document.getElementById(id);
const fixed = (value, digits, unit) => (value === null || value === undefined ? "-" : value.toFixed(digits) + unit);
let tiles = null; // camera name -> its tile's parts, once the status says there are several cameras

function withToken(path, params = {}) {
  const query = new URLSearchParams(params);
  if (token) query.set("token", token);
  return query.toString() ? `${path}?${query}` : path;
}

// One way to write a time, as the history page writes it: 2024-05-01 14:03:09 (local time).
function when(t) {
  const d = new Date(t * 1000 - new Date(t * 1000).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19).replace("T", " ");
}

const RECENT = 5; // ended events listed
const going = new Map(); // event id -> its start
let recent = [];

function eventText(e) {
  const length = e.end ? `, ${Math.max(0, e.end - e.start).toFixed(1)} s` : "";
  return `${e.label} ${(e.score * 100).toFixed(0)}% on ${e.camera}, ${e.end ? "" : "since "}${when(e.start)}${length}`;
}

function showEvents() {
  const item = (e) => Object.assign(document.createElement("li"), { textContent: eventText(e) });
  $("going-on").replaceChildren(...[...going.values()].map(item));
  $("recent").replaceChildren(...recent.map(item));
  $("no-events").hidden = going.size + recent.length > 0;
}

function tellEvent(e) {
  if (e.event === "start") going.set(e.id, e);
  else {
    going.delete(e.id);
    recent = [e, ...recent.filter((r) => r.id !== e.id)].slice(0, RECENT);
  }
  showEvents();
}

function knownEvents(events) {
  // /api/status's events going on and recent ones: what went on before the page opened, or while it was away.
  going.clear();
  events.going_on.forEach((e) => going.set(e.id, e));
  recent = events.recent.slice(0, RECENT);
  showEvents();
}

function topLabel(line) {
  const top = line.top || [];
  return line.unknown ? "unknown" : (top[0] ? top[0].label : "-");
}

function showPrediction(line) {
  if (tiles) {
    const tile = tiles.get(line.camera);
    const top = line.top || [];
    if (tile) tile.label.textContent = topLabel(line) + (top[0] ? ` ${(top[0].score * 100).toFixed(0)}%` : "");
    return;
  }
  $("label").textContent = topLabel(line);
  $("top").replaceChildren(...(line.top || []).map((entry) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = `${entry.label} ${(entry.score * 100).toFixed(1)}%`;
    const meter = document.createElement("meter");
    meter.value = entry.score;
    item.append(name, meter);
    return item;
  }));
}

function makeTile(name) {
  const tile = document.createElement("figure");
  const live = Object.assign(document.createElement("video"), { muted: true, autoplay: true, playsInline: true });
  const video = document.createElement("img");
  video.alt = live.ariaLabel = `${name}, live`;
  const playing = Object.assign(document.createElement("small"), { className: "playing" });
  const caption = document.createElement("figcaption");
  const title = document.createElement("strong");
  title.textContent = name;
  const label = document.createElement("span");
  label.className = "label";
  const state = document.createElement("small");
  caption.append(title, label, state, playing);
  tile.append(live, video, caption);
  return { tile, video, label, state, stop: playLive(live, video, { camera: name, ...again() }, playing) };
}

// The page follows the cameras the status lists: a reload may add or remove some (a tile each),
// or move the server (a new one: its uptime starts again), whose streams are then opened anew.
let laidOut = null;
let uptime = 0;
let layouts = 0;
let stopOne = () => {}; // the one camera's video, when there is one
// A stream opened anew gets a URL of its own: the browser would show the old one's image again.
const again = () => (layouts > 1 ? { again: layouts } : {});
function setUp(s) {
  const cameras = s.cameras || [];
  const names = cameras.map((c) => c.name).join("\n");
  const restarted = s.uptime_s < uptime;
  uptime = s.uptime_s;
  if (names === laidOut && !restarted) return;
  laidOut = names;
  layouts += 1;
  stopOne();
  stopOne = () => {};
  const before = tiles || new Map();
  if (cameras.length <= 1) {
    tiles = null;
    before.forEach((t) => t.stop());
    $("tiles").hidden = true;
    $("one").hidden = false;
    stopOne = playLive($("live"), $("video"), again(), $("playing"));
    return;
  }
  $("one").hidden = true;
  $("tiles").hidden = false;
  tiles = new Map(cameras.map((c) => [c.name, (!restarted && before.get(c.name)) || makeTile(c.name)]));
  before.forEach((t, name) => { if (tiles.get(name) !== t) t.stop(); });
  $("tiles").replaceChildren(...[...tiles.values()].map((t) => t.tile));
}

// --gate motion: nothing moved, so the label shown is the last one, not checked again on the newest frame.
const STILL = "still: label kept, not re-checked";
// The camera's health: the problem it is in (offline, frozen, dark, blurred, moved), if any.
const state = (c) => c.source_state + (c.still ? ` · ${STILL}` : "") + (c.health ? ` · camera problem: ${c.health}` : "");

function showCamera(c) {
  const tile = tiles.get(c.name);
  if (!tile) return;
  tile.state.textContent = `${state(c)} · capture ${fixed(c.capture_fps, 0, " fps")} · ` +
    `inference ${fixed(c.inference_fps, 0, " fps")}`;
  tile.state.className = c.source_up && !c.health ? "" : "lost";
  if (c.prediction) showPrediction(c.prediction);
}

function showStatus(s) {
  $("provider").textContent = s.provider;
  $("uptime").textContent = fixed(s.uptime_s, 0, " s");
  if (tiles) {
    s.cameras.forEach(showCamera);
    return;
  }
  $("state").textContent = state(s);
  $("state").className = s.source_up && !s.health ? "" : "lost";
  $("capture_fps").textContent = fixed(s.capture_fps, 1, " fps");
  $("inference_fps").textContent = fixed(s.inference_fps, 1, " fps");
  $("latency").textContent = `${fixed(s.latency_ms.p50, 0, "")} / ${fixed(s.latency_ms.p95, 0, " ms")}`;
  $("age").textContent = fixed(s.prediction_age_s, 1, " s");
  $("frames").textContent = `${s.captured} / ${s.classified} / ${s.gated} / ${s.dropped}`;
  $("reconnects").textContent = s.reconnects;
  if (s.prediction) showPrediction(s.prediction);
}

async function pollStatus() {
  try {
    const reply = await fetch(withToken("api/status"), { cache: "no-store" });
    if (!reply.ok) return;
    const s = await reply.json();
    setUp(s);
    showStatus(s);
    if (s.events) knownEvents(s.events);
  } catch (error) {
    const where = tiles ? $("provider") : $("state");
    where.textContent = "the server is not answering";
    where.className = "lost";
  }
}

$("history").href = withToken("history");
const feed = new EventSource(withToken("api/events"));
feed.onmessage = (event) => showPrediction(JSON.parse(event.data));
feed.addEventListener("event", (message) => tellEvent(JSON.parse(message.data)));
// After the load event: a stream that never ends would otherwise keep the page "loading" forever.
window.addEventListener("load", () => {
  pollStatus();
  setInterval(pollStatus, 1000);
});
