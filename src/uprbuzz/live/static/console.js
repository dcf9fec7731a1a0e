// uprbuzz live console: plain JS, no build step. The server is the truth; this page renders
// the state it pushes (server-sent events) and ticks the broadcast clock between pushes.
"use strict";
const TOKEN = document.querySelector('meta[name="uprbuzz-token"]').content;
const $ = (id) => document.getElementById(id);
let S = null;            // last state from the server
let received = 0;        // performance.now() when S arrived
let dirty = false;       // the operator typed in the composer
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
function esc(s) { const d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }

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
    if (!dirty) prefill();
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
  ta.value = t;
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
    if ($("composer").value.trim() === text) { dirty = false; prefill(); }
  } catch (e) {
    $("compose-error").textContent = e.message;   // the draft stays; resubmitting is safe
  } finally { posting = false; }
}

// --- recommendations ----------------------------------------------------------------------------
async function loadRecs(state) {
  recsFor = state;
  const ul = $("recs"); ul.innerHTML = "";
  if (!state || !S || !S.session.has_recommendations) return;
  const r = await fetch("/api/recommendations?state=" + encodeURIComponent(state), {credentials: "same-origin"});
  if (!r.ok) return;
  const data = await r.json();
  if (recsFor !== state) return;
  for (const rec of data.items) {
    const li = document.createElement("li");
    li.innerHTML = `<button class="rec-card" type="button">Card</button> <span><b>${esc(rec.paragraph)}</b> ${esc(rec.text)}</span>`;
    const btn = li.querySelector("button");
    btn.onclick = () => card(state, rec.paragraph, rec.text, btn);
    ul.appendChild(li);
  }
}
async function card(state, paragraph, text, btn) {
  if (btn.disabled) return;
  btn.disabled = true;  // a double click is one card, not two
  $("compose-error").textContent = "";
  try { await api("card", {state, paragraph, text, client_id: newId()}); }
  catch (e) { $("compose-error").textContent = e.message; }
  finally { btn.disabled = false; }
}

// --- rendering the pushed state -----------------------------------------------------------------
function render(state) {
  const first = S === null;
  S = state; received = performance.now();
  $("rehearsal").hidden = !S.session.rehearsal;
  if (first || $("mark-select").options.length !== S.timeline.length) {
    $("mark-select").innerHTML = S.timeline.map((e) =>
      `<option value="${e.index}">${esc(e.kind === "speaker" ? e.name : e.segment + " · " + e.name)}</option>`).join("");
  }
  if (document.activeElement !== $("template-input")) $("template-input").value = S.template;
  renderCues(); renderLog();
  lastEntry = null; tick();
}
function renderCues() {
  const rows = S.cues.map((c) => `<tr data-id="${esc(c.id)}" data-state="${c.state}" ${c.due != null ? `data-due="${c.due}"` : ""} class="${c.state}">
    <td>${esc(c.due_hms || "")}<div class="muted">${esc(c.trigger)}</div></td><td>${esc(c.text)}</td>
    <td>${c.state === "ready" ? `<button class="cue-fire" type="button">Fire</button> <button class="cue-skip" type="button">Skip</button>` : esc(c.state)}</td></tr>`);
  const tb = document.querySelector("#cues tbody"); tb.innerHTML = rows.join("");
  for (const b of tb.querySelectorAll("button")) {
    b.onclick = async () => {
      const id = b.closest("tr").dataset.id;
      try { await api("cue", {id, action: b.classList.contains("cue-skip") ? "skip" : "fire"}); }
      catch (e) { $("compose-error").textContent = e.message; }
    };
  }
}
function renderLog() {
  const items = S.posts.slice().reverse().map((p) => {
    const plats = S.session.platforms.map((name) => {
      const i = p.platforms[name] || {state: "queued"};
      const link = i.url ? ` <a class="link-${name}" href="${esc(i.url)}" target="_blank" rel="noopener">${esc(i.url)}</a>` : "";
      const err = i.error ? ` <span class="error">${esc(i.error)}${i.retry_in ? " (retrying in " + i.retry_in + " s)" : ""}</span>` : "";
      return `<span class="plat ${esc(i.state)}" data-platform="${name}">${name}: <span class="pstate">${esc(i.state)}</span>${link}${err}</span>`;
    }).join("");
    const retry = ["failed", "partial", "sending"].includes(p.state) ? ` <button class="retry" type="button" data-n="${p.n}">Retry</button>` : "";
    return `<li class="post ${p.kind}" data-n="${p.n}" data-state="${p.state}">
      <div class="meta">#${p.n} · ${p.offset != null ? hms(p.offset) : ""} · ${esc(p.speaker || "")} · ${p.kind} · <span class="state">${esc(p.state)}</span>${retry}</div>
      <div class="text">${esc(p.text)}</div><div>${plats}</div></li>`;
  });
  $("log").innerHTML = items.join("");
  for (const b of document.querySelectorAll("#log button.retry")) {
    b.onclick = () => api("retry", {n: Number(b.dataset.n)}).catch((e) => { $("compose-error").textContent = e.message; });
  }
}

// --- wiring -------------------------------------------------------------------------------------
function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("state", (ev) => { render(JSON.parse(ev.data)); });
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn on"; };
  es.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn off"; };
}
$("composer").addEventListener("input", () => { dirty = $("composer").value.trim() !== ""; measure(); });
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
$("template-save").onclick = () => api("template", {template: $("template-input").value}).then(() => { if (!dirty) prefill(); });
$("card-form").onsubmit = (ev) => {
  ev.preventDefault();
  card($("card-state").value, $("card-paragraph").value, $("card-text").value, $("card-btn"));
};
$("anchor-btn").onclick = () => api("anchor", {}).catch((e) => { $("compose-error").textContent = e.message; });
setInterval(tick, 250);
connect();
