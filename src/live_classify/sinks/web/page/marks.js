// Right or wrong: on each listed event an admin's two buttons (a second click takes the mark back),
// and per camera and label how many events were marked each way ("espresso on kitchen: 46 right,
// 2 wrong"). A viewer sees the marks, not the buttons' power.
"use strict";
(() => {
  const list = document.getElementById("events");
  const tallies = document.getElementById("tallies");
  const CHOICES = [[true, "✓", "right"], [false, "✗", "wrong"]];

  async function showTallies() {
    const reply = await fetch(withToken("api/history/marks"), { cache: "no-store" });
    if (!reply.ok) return;
    const rows = (await reply.json()).marks;
    tallies.replaceChildren(...rows.map((r) => element("li", { textContent: `${r.label} on ${r.camera}: ${r.right} right, ${r.wrong} wrong` })));
  }

  function pressed(item) {
    item.querySelectorAll(".marks button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.right === item.dataset.mark)));
  }

  function buttons(item, admin) {
    if (item.querySelector(".marks")) return;
    const box = element("span", { className: "marks" });
    for (const [right, text, name] of CHOICES) {
      const button = element("button", { type: "button", textContent: text, title: `mark it ${name}`, className: `mark-${name}`, disabled: !admin });
      button.dataset.right = String(right);
      button.addEventListener("click", async () => {
        const now = item.dataset.mark === String(right) ? null : right;
        try {
          await liveSession.change("POST", `api/history/events/${encodeURIComponent(item.dataset.eventId)}/mark`, { right: now });
          item.dataset.mark = now === null ? "" : String(now);
          pressed(item);
          await showTallies();
        } catch (e) {
          say(e.message);
        }
      });
      box.append(button);
    }
    item.append(box);
    pressed(item);
  }

  liveSession.session.then(({ role }) => {
    const each = () => list.querySelectorAll("li").forEach((item) => buttons(item, role === "admin"));
    new MutationObserver(each).observe(list, { childList: true });
    each();
  });
  showTallies().catch(() => {});
})();
