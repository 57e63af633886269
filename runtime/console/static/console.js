// The console's only script: countdowns, the live approval queue, and decisions without a
// reload. Every page works without it (forms post and redirect); it adds no markup of its own
// but what the server rendered.
"use strict";

function csrfToken() {
  const field = document.querySelector("input[name=csrf]");
  return field ? field.value : "";
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-expires]")) {
    const left = Math.max(0, Math.floor((Number(el.dataset.expires) - now) / 1000));
    const card = el.closest(".approval");
    if (card && card.dataset.state !== "pending") continue;
    if (left === 0) {
      el.textContent = "expired";
      el.classList.add("late");
      continue;
    }
    const m = Math.floor(left / 60), s = left % 60;
    el.textContent = "expires in " + m + ":" + String(s).padStart(2, "0");
    el.classList.toggle("late", left < 60);
  }
}

function settle(card, data) {
  card.dataset.state = data.state;
  const form = card.querySelector("form.decide");
  const by = data.decided_by ? " by " + data.decided_by : "";
  const note = document.createElement("p");
  note.className = "settled " + data.state;
  note.setAttribute("role", "status");
  note.textContent = data.state + by + (data.reason ? ": " + data.reason : "");
  if (form) form.replaceWith(note); else card.append(note);
  const countdown = card.querySelector("[data-expires]");
  if (countdown) countdown.textContent = data.state;
}

function bindDecisions(root) {
  for (const form of root.querySelectorAll("form.decide")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      if (event.submitter) body.set(event.submitter.name, event.submitter.value);
      const outcome = form.querySelector(".outcome");
      for (const b of form.querySelectorAll("button")) b.disabled = true;
      try {
        const answer = await fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(body),
          headers: {"Accept": "application/json", "X-CSRF-Token": csrfToken()},
          credentials: "same-origin",
        });
        const data = await answer.json();
        if (!answer.ok) throw new Error(data.error || answer.statusText);
        settle(form.closest(".approval"), data);
      } catch (error) {
        outcome.textContent = String(error.message || error);
        outcome.classList.add("error");
        for (const b of form.querySelectorAll("button")) b.disabled = false;
      }
    });
  }
}

function liveQueue() {
  const queue = document.getElementById("queue");
  if (!queue) return;
  const live = document.getElementById("live");
  const empty = document.getElementById("empty");
  const source = new EventSource("/approvals/events");
  source.onopen = () => { live.textContent = "live"; live.className = "ok"; };
  source.onerror = () => {
    live.textContent = "reconnecting…";
    live.className = "muted";
    // A stream the server ended (session gone) is not retried by the browser: reload, which
    // leads to the sign-in page if need be.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 2000);
  };
  source.addEventListener("pending", (event) => {
    const data = JSON.parse(event.data);
    if (document.getElementById(data.id)) return;
    const holder = document.createElement("div");
    holder.innerHTML = data.html;
    const card = holder.firstElementChild;
    queue.prepend(card);
    bindDecisions(card);
    empty.hidden = true;
    tick();
  });
  source.addEventListener("settled", (event) => {
    const data = JSON.parse(event.data);
    const card = document.getElementById(data.id);
    if (card && card.dataset.state === "pending") settle(card, data);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  bindDecisions(document);
  liveQueue();
  tick();
  setInterval(tick, 1000);
});
