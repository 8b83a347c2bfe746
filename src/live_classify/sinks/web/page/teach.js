// Teaching from /history: pick moments (the frame of the recording playing now, or the event last
// played), type a label and send them: POST api/classes. The classes taught are listed with their
// examples' frames and a button that forgets each (DELETE api/classes/<label>). Uses history.js's
// helpers ($, element, withToken, api, when) and its state (segment, playingEvent), and session.js.
// An admin's: a viewer's page hides it (the server refuses it to a viewer all the same).
"use strict";
const picked = []; // {camera, time}

// A change, sent as every page of this server sends one: with the session's CSRF token (session.js).
const send = (method, path, body) => liveSession.change(method, path, body);

// The moment on screen: the playing segment's frame, else the event last played (its clip's own
// times are not in the index: the event's first second stands for it).
function moment() {
  if (segment) return { camera: segment.camera, time: segment.start + $("video").currentTime };
  if (playingEvent) {
    const e = playingEvent;
    return { camera: e.camera, time: e.start + Math.min(1, ((e.end || e.start + 2) - e.start) / 2) };
  }
  return null;
}

function thumbnail(camera, time) {
  return element("img", { src: withToken("api/history/thumbnail.jpg", { camera, t: time }), alt: `${camera} ${when(time)}` });
}

function showPicked() {
  $("moments").replaceChildren(...picked.map((m, i) => {
    const drop = element("button", { type: "button", textContent: "×", ariaLabel: "drop this moment" });
    drop.addEventListener("click", () => { picked.splice(i, 1); showPicked(); });
    return element("li", {}, [thumbnail(m.camera, m.time), drop]);
  }));
}

function classItem(taught) {
  const forget = element("button", { type: "button", textContent: "delete", ariaLabel: `delete ${taught.label}` });
  forget.addEventListener("click", () => send("DELETE", `api/classes/${encodeURIComponent(taught.label)}`)
    .then(() => { $("taught").textContent = `${taught.label} forgotten`; return listClasses(); })
    .catch((e) => { $("taught").textContent = e.message; }));
  const pictures = taught.examples.map((e) => element("img", { src: withToken(e.url), alt: `${e.camera} ${when(e.time)}` }));
  const item = element("li", {}, [element("strong", { textContent: taught.label }), ...pictures, forget]);
  item.dataset.label = taught.label;
  return item;
}

async function listClasses() {
  const classes = (await api("api/classes")).classes;
  $("classes").replaceChildren(...classes.map(classItem));
}

// On each listed event, one click makes it an example (a wrong one, most often): its moment is
// added to those picked, and the label's field waits for the class it should have been.
function exampleButtons() {
  document.querySelectorAll("#events li").forEach((item) => {
    if (item.querySelector(".as-example")) return;
    const add = element("button", { type: "button", className: "as-example", textContent: "+ example",
      title: "teach from this event: add its moment to the moments picked" });
    add.addEventListener("click", () => {
      picked.push({ camera: item.dataset.camera, time: Number(item.dataset.moment) });
      showPicked();
      $("teach").label.focus();
    });
    item.append(add);
  });
}

function setUpTeaching() {
  new MutationObserver(exampleButtons).observe($("events"), { childList: true });
  exampleButtons();
  $("pick").addEventListener("click", () => {
    const m = moment();
    if (!m) {
      $("taught").textContent = "play a recording or an event first, then add its moment";
      return;
    }
    picked.push(m);
    showPicked();
  });
  $("teach").addEventListener("submit", (e) => {
    e.preventDefault();
    const label = e.target.label.value;
    send("POST", "api/classes", { label, examples: picked })
      .then((answer) => {
        $("taught").textContent = `${answer.label} taught from ${answer.added} moment(s), ${answer.examples} in all`
          + (answer.note ? ` (${answer.note})` : "");
        picked.length = 0;
        showPicked();
        return listClasses();
      })
      .catch((err) => { $("taught").textContent = err.message; });
  });
  listClasses().catch((e) => { $("taught").textContent = e.message; });
}

liveSession.session.then(({ role }) => {
  if (role === "admin") setUpTeaching();
  else document.querySelectorAll(".teaching").forEach((part) => { part.hidden = true; });
});
