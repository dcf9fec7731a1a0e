// uprbuzz live console: plain JS, no build step. The server is the truth; this page renders
// the state it pushes (server-sent events) and ticks the broadcast clock between pushes.
"use strict";
const TOKEN = document.querySelector('meta[name="uprbuzz-token"]').content;
const $ = (id) => document.getElementById(id);
let S = null;            // last state from the server
let received = 0;        // performance.now() when S arrived
let prefilled = "";      // what prefill() last put in the composer
// The composer is the operator's as soon as it holds anything else than what we put there.
// Judged by its content, not by input events, so a server update racing a keystroke (or a
// scripted fill) can never overwrite a draft.
const untouched = () => { const v = $("composer").value; return v === prefilled || v.trim() === ""; };
let draftId = newId();   // client id of the draft: a resubmitted request is the same post
let lastEntry = null, recsFor = null, measureTimer = null, posting = false;

function newId() { return (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)); }
function hms(s) {
  const neg = s < 0; s = Math.floor(Math.abs(s));
  const p = (n) => String(n).padStart(2, "0");
  return (neg ? "-" : "") + p(Math.floor(s / 3600)) + ":" + p(Math.floor(s % 3600 / 60)) + ":" + p(s % 60);
}
// Far from the broadcast (before review day, or long after), a raw offset such as 52865:03:31
// means nothing to an operator: say how far away it is instead.
function clockText(s) {
  const day = 86400, d = Math.floor(Math.abs(s) / day);
  if (d < 1) return hms(s);
  return s < 0 ? `starts in ${d} day${d > 1 ? "s" : ""}` : `${d} day${d > 1 ? "s" : ""} after the start`;
}
// Everything shown comes from the session file, the operators and the platforms: it is put into
// the page as text nodes and attribute values (h() below), never parsed as HTML, so a speaker
// called `"><img onerror=…>` is just a strange name. The server's Content-Security-Policy
// (no inline script) is the second wall.
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (/^on/i.test(k)) throw new Error("event handlers are set as properties, not attributes");
    el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat()) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));  // a string becomes a text node
  }
  return el;
}
// A class name made of word characters only (a state or platform name from the server).
function cls(s) { return String(s == null ? "" : s).replace(/[^\w-]/g, ""); }
// Only http(s) links are links: a javascript: or data: URL from a platform is shown as text.
function safeUrl(u) {
  try { const url = new URL(String(u)); return /^https?:$/.test(url.protocol) ? url.href : null; }
  catch (e) { return null; }
}
function showError(e) { $("compose-error").textContent = e.message; }

async function api(name, body) {
  const r = await fetch("/api/" + name, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-Uprbuzz-Token": TOKEN},
    body: JSON.stringify(body || {}),
  });
  const data = await r.json().catch(() => ({error: "HTTP " + r.status}));
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data.result;
}

// --- clock and speakers ------------------------------------------------------------------------
function offsetNow() {
  if (!S) return 0;
  return S.clock.offset + (performance.now() - received) / 1000 * S.clock.rate;
}
function entryAt(off) {
  if (!S) return null;
  for (const e of S.timeline) if (e.start <= off && off < e.end) return e;
  return null;
}
function nextSpeaker(cur, off) {
  const from = cur ? cur.index + 1 : (off < 0 ? 0 : S.timeline.length);
  for (const e of S.timeline.slice(from)) if (e.kind === "speaker" && e.end > e.start) return e;
  return null;
}
function tick() {
  if (!S) return;
  const off = offsetNow();
  $("clock").textContent = clockText(off);
  const cur = entryAt(off), nxt = nextSpeaker(cur, off);
  $("now-speaker").textContent = cur ? cur.name : (off < 0 ? "not started" : "ended");
  $("segment").textContent = cur ? cur.segment + (cur.kind === "reply" ? " · reply block" : "") : "";
  $("slot").textContent = cur ? hms(cur.start) + "–" + hms(cur.end) : "";
  $("next-speaker").textContent = nxt ? nxt.name + " (≈" + hms(nxt.start) + ")" : "–";
  const key = cur ? cur.index : -1;
  if (key !== lastEntry) {
    lastEntry = key;
    if (untouched()) prefill();
    const who = cur && cur.kind === "speaker" ? cur.name : null;
    if (who !== recsFor) loadRecs(who);
    if (cur && document.activeElement !== $("mark-select")) $("mark-select").value = String(cur.index);
    if (!$("card-state").matches(":focus") && who) $("card-state").value = who;
  }
  for (const tr of document.querySelectorAll("#cues tr[data-due]")) {
    tr.classList.toggle("due", tr.dataset.state === "ready" && Number(tr.dataset.due) <= off);
  }
}

function prefill() {
  if (!S) return;
  const off = offsetNow(), cur = entryAt(off), nxt = nextSpeaker(cur, off);
  const vals = {speaker: cur ? cur.name : "", next: nxt ? nxt.name : "", offset: hms(off),
                hashtags: S.session.hashtags.join(" "), sur: S.session.sur};
  let t = S.template.replace(/\{(speaker|next|offset|hashtags|sur)\}/g, (m, k) => vals[k]);
  const at = t.indexOf("{cursor}");
  t = t.replace("{cursor}", "");
  const ta = $("composer");
  ta.value = prefilled = t;
  const pos = at >= 0 ? at : t.length;
  ta.setSelectionRange(pos, pos);
  measure();
}

// --- composer -----------------------------------------------------------------------------------
function measure() {
  clearTimeout(measureTimer);
  measureTimer = setTimeout(async () => {
    const text = $("composer").value;
    try {
      const m = await api("measure", {text});
      if ($("composer").value !== text) return;  // a stale answer: a newer count is on its way
      showCount("count-x", "X", m.x && m.x.weighted_length, m.x);
      showCount("count-bluesky", "Bluesky", m.bluesky && m.bluesky.graphemes, m.bluesky);
    } catch (e) { /* counters are advisory; the server checks again on post */ }
  }, 80);
}
function showCount(id, label, n, info) {
  const el = $(id); if (!info) return;
  el.textContent = label + " " + n + "/" + info.limit;
  el.classList.toggle("over", info.valid === false);
}
async function post() {
  if (posting) return;
  const text = $("composer").value.trim();
  if (!text) return;
  posting = true; $("compose-error").textContent = "";
  try {
    await api("post", {text, client_id: draftId});
    draftId = newId();
    // The operator may already be typing the next update (the pushed log often beats this
    // answer): only a composer still holding what was posted is reset.
    if ($("composer").value.trim() === text) prefill();
  } catch (e) {
    $("compose-error").textContent = e.message;   // the draft stays; resubmitting is safe
  } finally { posting = false; }
}

// --- recommendations ----------------------------------------------------------------------------
async function loadRecs(state) {
  recsFor = state;
  const ul = $("recs"); ul.replaceChildren();
  if (!state || !S || !S.session.has_recommendations) return;
  const r = await fetch("/api/recommendations?state=" + encodeURIComponent(state), {credentials: "same-origin"});
  if (!r.ok) return;
  const data = await r.json();
  if (recsFor !== state) return;
  for (const rec of data.items) {
    const btn = h("button", {class: "rec-card", type: "button"}, "Card");
    // One id per button: a second click (a double click, or a click after the first answer
    // re-enabled the button) names the same card, and the server returns it instead of a copy.
    btn.dataset.clientId = newId();
    btn.onclick = () => card(state, rec.paragraph, rec.text, btn);
    ul.append(h("li", {}, btn, " ", h("span", {}, h("b", {}, rec.paragraph), " ", rec.text)));
  }
}
async function card(state, paragraph, text, btn) {
  if (btn.disabled) return;
  btn.disabled = true;  // a double click is one card, not two
  $("compose-error").textContent = "";
  try {
    await api("card", {state, paragraph, text, client_id: btn.dataset.clientId});
    btn.textContent = "Card ✓"; btn.title = "card posted; reload the list for another";
  }
  catch (e) { $("compose-error").textContent = e.message; }
  finally { btn.disabled = false; }
}

// --- rendering the pushed state -----------------------------------------------------------------
function render(state) {
  const first = S === null;
  S = state; received = performance.now();
  $("rehearsal").hidden = !S.session.rehearsal;
  if (first || $("mark-select").options.length !== S.timeline.length) {
    $("mark-select").replaceChildren(...S.timeline.map((e) =>
      new Option(e.kind === "speaker" ? e.name : e.segment + " · " + e.name, String(e.index))));
  }
  if (document.activeElement !== $("template-input")) $("template-input").value = S.template;
  renderCues(); renderLog();
  lastEntry = null; tick();
}
function renderCues() {
  const rows = S.cues.map((c) => {
    let action;
    if (c.state === "ready") {
      const fire = h("button", {class: "cue-fire", type: "button"}, "Fire");
      const skip = h("button", {class: "cue-skip", type: "button"}, "Skip");
      fire.onclick = () => api("cue", {id: c.id, action: "fire"}).catch(showError);
      skip.onclick = () => api("cue", {id: c.id, action: "skip"}).catch(showError);
      action = [fire, " ", skip];
    } else {
      action = c.state;
    }
    return h("tr", {"data-id": c.id, "data-state": c.state, "data-due": c.due, class: cls(c.state)},
      h("td", {}, c.due_hms || "", h("div", {class: "muted"}, c.trigger)),
      h("td", {}, c.text),
      h("td", {}, action));
  });
  document.querySelector("#cues tbody").replaceChildren(...rows);
}
function renderLog() {
  const items = S.posts.slice().reverse().map((p) => {
    const plats = S.session.platforms.map((name) => {
      const i = p.platforms[name] || {state: "queued"};
      const span = h("span", {class: "plat " + cls(i.state), "data-platform": name},
        name + ": ", h("span", {class: "pstate"}, i.state));
      const url = i.url ? safeUrl(i.url) : null;
      if (url) {
        span.append(" ", h("a", {class: "link-" + cls(name), href: url, target: "_blank",
                                 rel: "noopener noreferrer"}, i.url));
      } else if (i.url) {
        span.append(" ", i.url);
      }
      if (i.error) {
        span.append(" ", h("span", {class: "error"},
          i.error + (i.retry_in ? " (retrying in " + i.retry_in + " s)" : "")));
      }
      return span;
    });
    const meta = h("div", {class: "meta"},
      "#" + p.n + " · " + (p.offset != null ? hms(p.offset) : "") + " · " + (p.speaker || "") +
      " · " + p.kind + " · ", h("span", {class: "state"}, p.state));
    if (["failed", "partial", "sending"].includes(p.state)) {
      const retry = h("button", {class: "retry", type: "button", "data-n": p.n}, "Retry");
      retry.onclick = () => api("retry", {n: Number(p.n)}).catch(showError);
      meta.append(" ", retry);
    }
    return h("li", {class: "post " + cls(p.kind), "data-n": p.n, "data-state": p.state},
      meta, h("div", {class: "text"}, p.text), h("div", {}, plats));
  });
  $("log").replaceChildren(...items);
}

// --- wiring -------------------------------------------------------------------------------------
function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("state", (ev) => { render(JSON.parse(ev.data)); });
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn on"; };
  es.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn off"; };
}
$("composer").addEventListener("input", measure);
$("composer").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); post(); }
});
$("post-btn").onclick = post;
$("sync-form").onsubmit = async (ev) => {
  ev.preventDefault();
  try { await api("sync", {shown: $("sync-input").value}); $("sync-input").value = ""; }
  catch (e) { $("compose-error").textContent = e.message; }
};
$("mark-form").onsubmit = async (ev) => {
  ev.preventDefault();
  try { await api("mark", {who: $("mark-select").value}); }
  catch (e) { $("compose-error").textContent = e.message; }
};
$("template-save").onclick = () => api("template", {template: $("template-input").value}).then(() => { if (untouched()) prefill(); });
$("card-form").onsubmit = (ev) => {
  ev.preventDefault();
  card($("card-state").value, $("card-paragraph").value, $("card-text").value, $("card-btn"));
};
$("anchor-btn").onclick = () => api("anchor", {}).catch((e) => { $("compose-error").textContent = e.message; });
setInterval(tick, 250);
connect();
