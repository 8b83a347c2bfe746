// Who is logged in (GET api/session), and the page's changes sent as this server's own page sends
// them: with the session's X-CSRF-Token header, which a page of another site can neither read nor
// send (the server refuses a change without it). Shared by every page that changes something.
"use strict";
window.liveSession = (() => {
  const token = new URLSearchParams(location.search).get("token");
  const withToken = (path) => (token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path);
  const session = fetch(withToken("api/session"), { cache: "no-store" })
    .then((reply) => (reply.ok ? reply.json() : { role: "viewer", csrf: null }));
  async function change(method, path, body) {
    const { csrf } = await session;
    const headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const reply = await fetch(withToken(path), { method, headers, body: JSON.stringify(body), cache: "no-store" });
    if (!reply.ok) {
      const text = (await reply.text()).trim();
      let message = text;
      try { message = JSON.parse(text).error || text; } catch { /* a line of text */ }
      throw new Error(message || `${reply.status}`);
    }
    return reply.json();
  }
  return { session, change };
})();
