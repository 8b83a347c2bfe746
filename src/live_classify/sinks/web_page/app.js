// The live page: the MJPEG stream in an <img>, the top-k from /api/events, the counters from /api/status.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => (token ? `${path}?token=${encodeURIComponent(token)}` : path);
const $ = (id) => document.getElementById(id);
const fixed = (value, digits, unit) => (value === null || value === undefined ? "-" : value.toFixed(digits) + unit);

// After the load event: a stream that never ends would otherwise keep the page "loading" forever.
window.addEventListener("load", () => { $("video").src = withToken("stream.mjpg"); });

function showPrediction(line) {
  const top = line.top || [];
  $("label").textContent = line.unknown ? "unknown" : (top[0] ? top[0].label : "-");
  $("top").replaceChildren(...top.map((entry) => {
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

function showStatus(s) {
  $("state").textContent = s.source_state;
  $("state").className = s.source_up ? "" : "lost";
  $("capture_fps").textContent = fixed(s.capture_fps, 1, " fps");
  $("inference_fps").textContent = fixed(s.inference_fps, 1, " fps");
  $("latency").textContent = `${fixed(s.latency_ms.p50, 0, "")} / ${fixed(s.latency_ms.p95, 0, " ms")}`;
  $("age").textContent = fixed(s.prediction_age_s, 1, " s");
  $("frames").textContent = `${s.captured} / ${s.classified} / ${s.dropped}`;
  $("reconnects").textContent = s.reconnects;
  $("provider").textContent = s.provider;
  $("uptime").textContent = fixed(s.uptime_s, 0, " s");
  if (s.prediction) showPrediction(s.prediction);
}

async function pollStatus() {
  try {
    const reply = await fetch(withToken("api/status"), { cache: "no-store" });
    if (reply.ok) showStatus(await reply.json());
  } catch (error) {
    $("state").textContent = "the server is not answering";
    $("state").className = "lost";
  }
}

new EventSource(withToken("api/events")).onmessage = (event) => showPrediction(JSON.parse(event.data));
pollStatus();
setInterval(pollStatus, 1000);
