// The live video: H.264 from /live.mp4 through Media Source Extensions in a <video> (ManagedMediaSource
// where the browser has that instead), an eighth of MJPEG's bytes or less. The buffer stays small: after
// each fragment the video jumps to the live edge when it is more than BEHIND_S behind, and what it has
// played is let go. Where MSE cannot play H.264, or the stream ends (its camera removed, the encoder
// failed), the MJPEG stream plays in the <img> instead; a line says which one plays, and why.
"use strict";
const LIVE_CODEC = 'video/mp4; codecs="avc1.640028"'; // x264's High profile, whatever the size
const MSE = window.ManagedMediaSource || window.MediaSource;
const BEHIND_S = 1.0; // further behind than this, the video jumps to the newest frame
const KEEP_S = 10; // seconds of played video kept in the buffer

function liveCanPlay() {
  return Boolean(MSE && MSE.isTypeSupported && MSE.isTypeSupported(LIVE_CODEC));
}

// Plays one camera (`params`: its ?camera=) in `video`, or MJPEG in `img`; says which in `said`.
// Returns what stops it (a new layout, a removed tile).
function playLive(video, img, params, said) {
  const mjpeg = (why) => {
    video.hidden = true;
    img.hidden = false;
    img.src = withToken("stream.mjpg", params);
    said.textContent = `playing MJPEG (${why})`;
  };
  if (!liveCanPlay()) {
    mjpeg("this browser cannot play H.264 through Media Source Extensions");
    return () => img.removeAttribute("src");
  }
  const stopping = new AbortController();
  const source = new MSE();
  video.disableRemotePlayback = true; // ManagedMediaSource wants it
  video.src = URL.createObjectURL(source);
  img.hidden = true;
  video.hidden = false;
  said.textContent = "playing H.264 (Media Source Extensions)";
  source.addEventListener("sourceopen", () => {
    stream(source, video, params, stopping.signal).catch((error) => {
      if (!stopping.signal.aborted) mjpeg(`the H.264 stream ended: ${error.message}`);
    });
  }, { once: true });
  return () => {
    stopping.abort();
    img.removeAttribute("src");
    video.removeAttribute("src");
    video.load();
  };
}

async function stream(source, video, params, signal) {
  const buffer = source.addSourceBuffer(LIVE_CODEC);
  const waiting = [];
  const append = () => {
    if (buffer.updating || !waiting.length || source.readyState !== "open") return;
    const size = waiting.reduce((sum, part) => sum + part.length, 0);
    const joined = new Uint8Array(size);
    waiting.splice(0).reduce((at, part) => (joined.set(part, at), at + part.length), 0);
    buffer.appendBuffer(joined);
  };
  buffer.addEventListener("updateend", () => {
    keepLive(video, buffer);
    append();
  });
  const reply = await fetch(withToken("live.mp4", params), { signal, cache: "no-store" });
  if (!reply.ok) throw new Error((await reply.text()).trim() || `HTTP ${reply.status}`);
  const reader = reply.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the server closed it");
    waiting.push(value);
    append();
  }
}

function keepLive(video, buffer) {
  const ranges = video.buffered;
  if (!ranges.length) return;
  const start = ranges.start(ranges.length - 1);
  const end = ranges.end(ranges.length - 1);
  if (video.currentTime < start || end - video.currentTime > BEHIND_S) video.currentTime = Math.max(start, end - 0.1);
  if (video.paused) video.play().catch(() => {});
  if (!buffer.updating && video.currentTime - ranges.start(0) > 2 * KEEP_S) buffer.remove(0, video.currentTime - KEEP_S);
}
