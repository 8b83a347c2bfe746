// The history page: a day's timeline per camera (the top label as coloured bands, events marked),
// the events (search across days), a <video> that plays an event or any moment, and the export.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const DAY = 86400;
const shown = { from: 0, span: DAY }; // the timelines' window: a day, or a part of one (the zoom)
const step = () => Math.max(1, Math.round(shown.span / 1440)); // seconds per band: a minute a day
const at = (t) => `${((t - shown.from) / shown.span) * 100}%`; // where t is across a timeline
let segment = null; // the recording playing now (to go on with the next one at its end)
let parts = []; // an event's clips still to play (--event-max cut it into several)
let seekTo = 0;
let playingEvent = null; // the event last played (teach.js takes its moment when no segment plays)

function withToken(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  if (token) query.set("token", token);
  return query.toString() ? `${path}${path.includes("?") ? "&" : "?"}${query}` : path;
}

async function api(path, params) {
  const reply = await fetch(withToken(path, params), { cache: "no-store" });
  if (!reply.ok) throw new Error((await reply.text()).trim() || `${reply.status}`);
  return reply.json();
}

// Each label its own colour, told apart at a glance: the labels of the view get, in order (the most
// seen first), hues a golden angle apart (137.5°: each new one far from all before it) and, by turns,
// three lightnesses. A hash alone gave near-identical blues to "Egyptian cat" and "motorbike". No
// label is red: hues within 30° of it are skipped, red is a camera problem's (HEALTH, below; the
// first label once got rgb(230, 26, 26), and its events read as camera problems).
const palette = new Map();
const GOLDEN_ANGLE = 137.508;
const LIGHTNESS = [50, 30, 70];
const PROBLEM_HUE = 0;  // HEALTH's
const CLEAR_OF_PROBLEM = 30;  // degrees of hue on either side of it that no label gets
let painted = 0;  // palette places handed out, the skipped ones counted
const hue = (i) => (i * GOLDEN_ANGLE) % 360;
const nearProblem = (h) => Math.min(Math.abs(h - PROBLEM_HUE), 360 - Math.abs(h - PROBLEM_HUE)) < CLEAR_OF_PROBLEM;
function colour(label) {
  if (!label) return "#333";
  if (!palette.has(label)) {
    while (nearProblem(hue(painted))) painted += 1;
    palette.set(label, painted);
    painted += 1;
  }
  const i = palette.get(label);
  return `hsl(${hue(i).toFixed(1)} 80% ${LIGHTNESS[i % LIGHTNESS.length]}%)`;
}
function paint(labels) {
  palette.clear();
  painted = 0;
  labels.forEach(colour);
}

// One way to write a time throughout, the export's fields' own: 2024-05-01 14:03:09 (local time).
function localInput(t) {
  const d = new Date(t * 1000 - new Date(t * 1000).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}
const when = (t) => localInput(t).replace("T", " ");
const clock = (t) => localInput(t).slice(11, 19);
const seconds = (local) => (local ? new Date(local).getTime() / 1000 : "");
function dayStart() {
  const [y, m, d] = $("day").value.split("-").map(Number);
  return new Date(y, m - 1, d).getTime() / 1000;
}
function say(text) {
  $("found").textContent = text;
}

function element(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// --- playing ---

function show(url, offset, what) {
  const video = $("video");
  $("player").hidden = false;
  $("playing").textContent = what;
  seekTo = Math.max(0, offset); // where the file just asked for starts playing, once it is known
  video.src = withToken(url);
}

async function playAt(camera, t, what) {
  parts = [];
  const found = (await api("api/history/recordings", { camera, since: t - 1, until: t + 60 })).recordings;
  const here = found.filter((r) => r.start <= t).pop() || found[0]; // the one that has t, else the next
  if (!here) {
    say(`nothing of ${camera} is recorded at ${when(t)}`);
    return;
  }
  segment = here;
  show(here.url, t - here.start, what || `${camera} at ${when(Math.max(t, here.start))}`);
}

async function playEvent(event, button) {
  playingEvent = event;
  document.querySelectorAll("#events .playing").forEach((b) => b.classList.remove("playing"));
  button.classList.add("playing");
  fillExport(event.camera, event.start, event.end || event.start + 10);
  const what = `${event.label} on ${event.camera}, ${when(event.start)}`;
  if (event.clip) {
    segment = null;
    parts = (event.clips || []).slice(1);
    show(event.clip, 0, what);
  } else {
    await playAt(event.camera, event.start, what);
  }
}

async function goOn() {
  if (parts.length) {
    show(parts.shift(), 0, $("playing").textContent); // the event's next clip
    return;
  }
  if (!segment) return;
  const next = (await api("api/history/recordings", { camera: segment.camera, since: segment.end, until: segment.end + 60 }))
    .recordings.find((r) => r.start > segment.start);
  if (next) {
    segment = next;
    show(next.url, 0, `${next.camera} at ${when(next.start)}`);
  }
}

// --- the events ---

function eventItem(event) {
  const inside = event.start + Math.min(1, ((event.end || event.start + 2) - event.start) / 2); // past its first frame
  const src = event.thumbnail ? withToken(event.thumbnail)
    : withToken("api/history/thumbnail.jpg", { camera: event.camera, t: inside });
  const picture = element("img", { src, alt: "", loading: "lazy" });
  picture.addEventListener("error", () => picture.replaceWith(element("span", { className: "swatch" })), { once: true });
  const length = event.end ? `${Math.max(0, event.end - event.start).toFixed(1)} s` : "going on";
  const what = element("span", { className: "what" }, [
    element("strong", { textContent: `${event.label} ${(event.score * 100).toFixed(0)}%` }),
    `${event.camera} · ${when(event.start)} · ${length}`]);
  const button = element("button", { type: "button" }, [picture, what]);
  button.style.setProperty("--colour", colour(event.label));
  button.addEventListener("click", () => playEvent(event, button).catch((e) => say(e.message)));
  const item = element("li", {}, [button]);
  item.dataset.eventId = event.id;
  item.dataset.mark = event.mark == null ? "" : String(event.mark); // right or wrong: marks.js
  Object.assign(item.dataset, { camera: event.camera, moment: String(inside) }); // a moment to teach: teach.js
  return item;
}

async function listEvents(params) {
  const events = (await api("api/history/events", params)).events;
  $("events").replaceChildren(...events.map(eventItem));
  say(events.length ? `${events.length} event${events.length === 1 ? "" : "s"}` : "no event");
}

// --- the timelines ---

function bands(rows) {
  const merged = [];
  for (const r of rows) {
    const last = merged[merged.length - 1];
    if (last && last.label === r.label && last.end === r.start) last.end = r.start + step();
    else merged.push({ label: r.label, start: r.start, end: r.start + step() });
  }
  return merged.map((b) => {
    const band = element("div", { className: "band", title: `${b.label} ${clock(b.start)}–${clock(b.end)}` });
    Object.assign(band.style, { left: at(b.start), width: `${((b.end - b.start) / shown.span) * 100}%`,
      background: colour(b.label) });
    return band;
  });
}

// Events in a strip of their own under the bands (from start to end, never narrower than a tick):
// at the 10 minutes' zoom a band is a second wide, and a mark over it would hide it. A camera's
// health problem (offline, frozen, dark...) is marked in a colour of its own, no label's.
const HEALTH = "#e02020";
function marks(events) {
  return events.map((e) => {
    const end = e.end || Date.now() / 1000;
    const health = e.kind === "health";
    const what = health ? `camera problem: ${e.label}` : e.label;
    const mark = element("div", { className: health ? "mark health" : "mark",
      title: `${what} ${when(e.start)} – ${clock(end)}` });
    Object.assign(mark.style, { left: at(e.start), width: `${(Math.max(0, end - e.start) / shown.span) * 100}%`,
      background: health ? HEALTH : colour(e.label) });
    return mark;
  });
}

function keyboard(line, camera) {
  const from = shown.from;
  let t0 = from + shown.span / 2;
  const cursor = element("div", { className: "cursor", hidden: true });
  line.append(cursor);
  const move = (t) => {
    t0 = Math.min(from + shown.span - 1, Math.max(from, t));
    cursor.hidden = false;
    cursor.style.left = at(t0);
    line.setAttribute("aria-valuenow", String(Math.round(t0 - from)));
    line.setAttribute("aria-valuetext", clock(t0));
  };
  line.addEventListener("keydown", (e) => {
    const jump = { ArrowLeft: -60, ArrowRight: 60, PageDown: -600, PageUp: 600 }[e.key];
    if (jump) move(t0 + (e.shiftKey ? jump * 10 : jump) * step());
    else if (e.key === "Enter" || e.key === " ") playAt(camera, t0).catch((err) => say(err.message));
    else return;
    e.preventDefault();
  });
  line.addEventListener("click", (e) => {
    const box = line.getBoundingClientRect();
    move(from + ((e.clientX - box.left) / box.width) * shown.span);
    playAt(camera, t0).catch((err) => say(err.message));
  });
}

function timeline(camera, labels, events) {
  const line = element("div", { className: "timeline", tabIndex: 0, role: "slider",
    ariaLabel: `${camera}: press Enter to play, arrows to move a minute (Shift: ten)` });
  line.setAttribute("aria-valuemin", "0");
  line.setAttribute("aria-valuemax", String(shown.span));
  line.append(...bands(labels.labels), element("div", { className: "events-strip" }), ...marks(events.events));
  keyboard(line, camera);
  const seen = [...new Set(labels.labels.map((r) => r.label))].filter(Boolean);
  const legend = element("ul", { className: "legend" }, seen.map((l) => {
    const item = element("li", { textContent: l });
    item.style.setProperty("--colour", colour(l));
    return item;
  }));
  const ticks = [0, 1, 2, 3, 4].map((i) => clock(shown.from + (i * shown.span) / 4).slice(0, shown.span < 3600 ? 8 : 5));
  const hours = element("div", { className: "hours" }, ticks.map((h) => element("span", { textContent: h })));
  return element("section", { className: "camera" }, [element("h3", { textContent: camera }), line, hours, legend]);
}

async function showDay() {
  const known = await api("api/history/cameras");
  for (const select of document.querySelectorAll(".cameras")) {
    const keep = select.value;
    select.replaceChildren(...(select.required ? [] : [element("option", { value: "", textContent: "any" })]),
      ...known.cameras.map((c) => element("option", { value: c, textContent: c })));
    select.value = keep || select.options[0]?.value || "";
  }
  $("labels").replaceChildren(...known.labels.map((l) => element("option", { value: l })));
  const range = { since: shown.from, until: shown.from + shown.span };
  const fetched = await Promise.all(known.cameras.map((camera) => Promise.all([
    api("api/history/labels", { camera, ...range, step: step() }), api("api/history/events", { camera, ...range })])));
  const counts = new Map();
  for (const [labels] of fetched) labels.labels.forEach((r) => counts.set(r.label, (counts.get(r.label) || 0) + 1));
  paint([...counts.keys()].filter(Boolean).sort((a, b) => counts.get(b) - counts.get(a) || a.localeCompare(b)));
  $("timelines").replaceChildren(...known.cameras.map((c, i) => timeline(c, ...fetched[i])));
  await listEvents({ since: shown.from, until: shown.from + shown.span });
}

function fillExport(camera, start, end) {
  const form = $("export");
  form.camera.value = camera;
  form.start.value = localInput(start);
  form.end.value = localInput(end);
}

function setUp() {
  $("live").href = withToken("./");
  const reload = () => showDay().catch((e) => say(e.message));
  const show = (from) => {
    shown.from = from;
    $("day").value = localInput(from).slice(0, 10);
    reload();
  };
  const zoom = () => {
    const now = Date.now() / 1000;
    const live = now >= shown.from && now < shown.from + shown.span; // now is shown: keep it in sight
    const around = live ? now : shown.from + shown.span / 2;
    shown.span = Number($("span").value);
    const midnight = dayStart();
    if (live && shown.span < DAY) show(Math.floor(now - shown.span * 0.9)); // what just happened
    else show(midnight + Math.floor(Math.max(0, around - midnight) / shown.span) * shown.span);
  };
  $("day").value = localInput(Date.now() / 1000).slice(0, 10);
  $("prev").addEventListener("click", () => show(shown.from - shown.span));
  $("next").addEventListener("click", () => show(shown.from + shown.span));
  $("day").addEventListener("change", () => show(dayStart()));
  $("span").addEventListener("change", zoom);
  $("video").addEventListener("ended", () => goOn().catch((e) => say(e.message)));
  $("video").addEventListener("loadedmetadata", (e) => {
    e.target.currentTime = seekTo;
    e.target.play().catch(() => {});
  });
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target;
    listEvents({ camera: f.camera.value, label: f.label.value, since: seconds(f.since.value), until: seconds(f.until.value) })
      .catch((err) => say(err.message));
  });
  $("export").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target;
    const link = $("download");
    link.href = withToken("api/clip.mp4", { camera: f.camera.value, start: seconds(f.start.value), end: seconds(f.end.value) });
    link.click();
  });
  show(dayStart());
}

setUp();
