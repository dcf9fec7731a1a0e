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
let pendingConfirm = null;         // () => Promise: the action to repeat with confirm: true
const postedCards = new Set();     // "state|paragraph" of cards posted from this page
let lastHealth = null, lastLogCount = null;

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
function mins(s) { s = Math.round(Math.abs(s)); return s < 90 ? s + " s" : Math.round(s / 60) + " min"; }
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
// User text (posts, cues, recommendations) in the session's language, its direction from itself.
function userText(tag, attrs, text) {
  return h(tag, Object.assign({dir: "auto", lang: S && S.session.lang || null}, attrs || {}), text);
}
function showError(e) {
  $("compose-error").textContent = e.message;
  if (e.confirm && e.retry) askConfirm(e.retry); else askConfirm(null);
}
function announce(text, urgent) {
  const el = $(urgent ? "alert-announce" : "announce");
  el.textContent = "";  // a repeated message is announced again
  setTimeout(() => { el.textContent = text; }, 30);
}

async function api(name, body) {
  const r = await fetch("/api/" + name, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-Uprbuzz-Token": TOKEN},
    body: JSON.stringify(body || {}),
  });
  const data = await r.json().catch(() => ({error: "HTTP " + r.status}));
  if (!r.ok) {
    const e = new Error(data.error || ("HTTP " + r.status));
    if (r.status === 409 && data.confirm) {
      e.confirm = true;
      e.retry = () => api(name, Object.assign({}, body, {confirm: true}));
    }
    throw e;
  }
  return data.result;
}
// "The same text went out 20 s ago. Post it again?" with two buttons; no browser dialog.
function askConfirm(retry, after) {
  pendingConfirm = retry ? {retry, after} : null;
  $("confirm-box").hidden = !retry;
  if (retry) $("confirm-yes").focus();
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
const CUE_TOLERANCE = 120;  // seconds past due: then OVERDUE
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
  for (const tr of document.querySelectorAll("#cues tbody tr[data-due]")) {
    const ready = tr.dataset.state === "ready" && tr.dataset.due !== "";
    const late = ready ? off - Number(tr.dataset.due) : -1;
    const status = !ready ? null : late > CUE_TOLERANCE ? "OVERDUE by " + mins(late)
      : late >= 0 ? "DUE now" : null;
    tr.classList.toggle("due", status !== null && late <= CUE_TOLERANCE);
    tr.classList.toggle("overdue", status !== null && late > CUE_TOLERANCE);
    const cell = tr.querySelector(".cue-status");
    const want = status || (tr.dataset.state === "ready" ? "waiting" : tr.dataset.state);
    if (cell && cell.textContent !== want) cell.textContent = want;
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
  posting = true; $("compose-error").textContent = ""; askConfirm(null);
  const sent = () => {
    draftId = newId();
    // The operator may already be typing the next update (the pushed log often beats this
    // answer): only a composer still holding what was posted is reset.
    if ($("composer").value.trim() === text) prefill();
  };
  try {
    await api("post", {text, client_id: draftId});
    sent();
  } catch (e) {
    $("compose-error").textContent = e.message;   // the draft stays; resubmitting is safe
    if (e.confirm) askConfirm(e.retry, sent);
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
    const btn = h("button", {class: "rec-card", type: "button", "data-focus": "rec:" + rec.paragraph,
                             "aria-label": "Post card " + rec.paragraph}, "Card");
    // One id per button: a double click names the same card, and the server returns it
    // instead of a copy. Once posted, the button says so and asks before a second.
    btn.dataset.clientId = newId();
    if (postedCards.has(state + "|" + rec.paragraph)) markCard(btn, rec.paragraph);
    btn.onclick = () => card(state, rec.paragraph, rec.text, btn);
    ul.append(h("li", {}, btn, " ",
      h("span", {}, h("b", {}, rec.paragraph), " ", userText("span", {}, rec.text))));
  }
}
function markCard(btn, paragraph) {
  btn.classList.add("posted");
  btn.textContent = "Card ✓";
  btn.setAttribute("aria-label", "Card " + paragraph + " posted; activate to post it again");
}
async function card(state, paragraph, text, btn, confirm) {
  if (btn.dataset.busy === "1") return;  // a double click is one card, not two
  const key = state + "|" + paragraph;
  // A card already posted from here: the first click asks, the second posts another.
  if (btn.classList.contains("rec-card") && btn.classList.contains("posted") && !confirm) {
    if (btn.dataset.asking !== "1") {
      btn.dataset.asking = "1";
      btn.textContent = "Post again?";
      btn.setAttribute("aria-label", "Card " + paragraph + " was posted. Post it again?");
      announce("Card " + paragraph + " was already posted. Activate again to post a second one.");
      return;
    }
    btn.dataset.asking = "0";
    btn.dataset.clientId = newId();
    confirm = true;
  }
  // Busy, not disabled: a disabled button would drop the keyboard focus.
  btn.dataset.busy = "1"; btn.setAttribute("aria-busy", "true");
  $("compose-error").textContent = ""; askConfirm(null);
  try {
    await api("card", {state, paragraph, text, client_id: btn.dataset.clientId, confirm: !!confirm});
    if (btn.classList.contains("rec-card")) { postedCards.add(key); markCard(btn, paragraph); }
    else announce("Card " + paragraph + " posted.");
  } catch (e) {
    $("compose-error").textContent = e.message;
    if (e.confirm) askConfirm(e.retry, () => {
      if (btn.classList.contains("rec-card")) { postedCards.add(key); markCard(btn, paragraph); }
    });
  } finally { btn.dataset.busy = "0"; btn.removeAttribute("aria-busy"); }
}

// --- rendering the pushed state -----------------------------------------------------------------
// Every redraw replaces rows; the element that had the focus is found again by its data-focus
// key, so a keyboard user stays where they were.
function keepFocus(fn) {
  const a = document.activeElement;
  const key = a && a.dataset ? a.dataset.focus : null;
  fn();
  if (key && document.activeElement !== a) {
    const again = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) again.focus({preventScroll: true});
  }
}
function render(state) {
  const first = S === null;
  S = state; received = performance.now();
  $("rehearsal").hidden = !S.session.rehearsal;
  if (first || $("mark-select").options.length !== S.timeline.length) {
    $("mark-select").replaceChildren(...S.timeline.map((e) =>
      new Option(e.kind === "speaker" ? e.name : e.segment + " · " + e.name, String(e.index))));
  }
  if (document.activeElement !== $("template-input")) $("template-input").value = S.template;
  keepFocus(() => { renderHealth(); renderCues(); renderLog(); renderRecent(); renderOperators(); });
  lastEntry = null; tick();
}
function retryButton(attrs, label, body) {
  const b = h("button", Object.assign({type: "button"}, attrs), label);
  b.onclick = () => api("retry", body).catch(showError);
  return b;
}
function renderHealth() {
  const items = (S.health || []).map((c) => {
    const li = h("li", {class: "health " + cls(c.state), "data-channel": c.channel},
      h("span", {class: "dot", "aria-hidden": "true"}), h("span", {class: "htext"}, c.text));
    if (["failing", "retrying", "blocked"].includes(c.state)) {
      li.append(" ", retryButton({class: "retry-channel", "data-focus": "retry-ch:" + c.channel,
                                  "aria-label": "Retry " + c.label + " now"}, "Retry",
                                 {channel: c.channel}));
    }
    return li;
  });
  $("health-list").replaceChildren(...items);
  // Announce what changed, not the whole strip: a failure at once (alert), the rest politely.
  const now = Object.fromEntries((S.health || []).map((c) => [c.channel, c.state + "|" + c.text]));
  if (lastHealth) {
    for (const c of S.health || []) {
      const was = lastHealth[c.channel];
      const before = was ? was.split("|")[0] : null;
      const trouble = (st) => ["failing", "retrying", "blocked"].includes(st);
      if (before && before !== c.state && (trouble(c.state) || trouble(before))) {
        announce(c.text, c.state === "failing" || (c.state === "retrying" && !trouble(before)));
      }
    }
  }
  lastHealth = now;
}
function renderOperators() {
  const names = S.operators || [];
  $("operators").textContent = names.length ? "Operators here: " + names.join(", ") : "";
}
function renderCues() {
  const rows = S.cues.map((c) => {
    let action;
    if (c.state === "ready") {
      const name = c.text.length > 40 ? c.text.slice(0, 39) + "…" : c.text;
      const fire = h("button", {class: "cue-fire", type: "button", "data-focus": "fire:" + c.id,
                                "aria-label": "Fire cue: " + c.id + ", " + name}, "Fire");
      const skip = h("button", {class: "cue-skip", type: "button", "data-focus": "skip:" + c.id,
                                "aria-label": "Skip cue: " + c.id}, "Skip");
      fire.onclick = () => api("cue", {id: c.id, action: "fire"}).catch(showError);
      skip.onclick = () => api("cue", {id: c.id, action: "skip"}).catch(showError);
      action = [fire, " ", skip];
    } else {
      action = c.state;
    }
    return h("tr", {"data-id": c.id, "data-state": c.state, "data-due": c.due == null ? "" : c.due,
                    class: cls(c.state), role: "row"},
      h("td", {role: "cell"}, h("span", {class: "cue-time"}, c.due_hms || ""), h("div", {class: "muted"}, c.trigger)),
      h("td", {class: "cue-status", role: "cell"}, c.state === "ready" ? "waiting" : c.state),
      h("td", {role: "cell"}, userText("span", {}, c.text)),
      h("td", {role: "cell"}, action));
  });
  document.querySelector("#cues tbody").replaceChildren(...rows);
}
function platformStatus(p, name) {
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
    span.append(" ", h("span", {class: "error", title: i.detail || null}, i.error));
    if (i.error_kind === "duplicate") {
      const edit = h("button", {type: "button", class: "edit-resend", "data-focus": "edit:" + p.n,
                                "aria-label": "Edit and resend post #" + p.n}, "Edit and resend");
      edit.onclick = () => {
        const ta = $("composer");
        ta.value = p.text; draftId = newId(); ta.focus(); measure();
      };
      span.append(" ", edit);
    }
  }
  return span;
}
function renderLog() {
  const items = S.posts.slice().reverse().map((p) => {
    const plats = S.session.platforms.map((name) => platformStatus(p, name));
    const meta = h("div", {class: "meta"},
      // empty fields (no offset yet, the anchor's speaker) leave no doubled separator
      ["#" + p.n, p.offset != null ? hms(p.offset) : "", p.speaker || "", p.kind,
       p.by ? "by " + p.by : ""].filter(Boolean).join(" · ") + " · ",
      h("span", {class: "state"}, p.state));
    const landed = Object.entries(p.platforms).some(([, i]) => i && i.state === "sent");
    if (landed && p.state !== "retracted") {
      for (const mode of ["correct", "retract"]) {
        const asking = withdrawAsk && withdrawAsk.n === p.n && withdrawAsk.mode === mode;
        const label = mode === "correct" ? (asking ? "Confirm: correct" : "Correct")
                                         : (asking ? "Confirm: retract" : "Retract");
        const b = h("button", {type: "button", class: mode, "data-focus": mode + ":" + p.n,
          "aria-label": (asking ? "Confirm: " : "") + (mode === "correct"
            ? "Correct post #" + p.n + ": retract it on every channel and edit the text"
            : "Retract post #" + p.n + " on every channel")}, label);
        b.onclick = () => withdraw(p, mode);
        meta.append(" ", b);
      }
    }
    if (["failed", "partial", "sending"].includes(p.state)) {
      meta.append(" ", retryButton({class: "retry", "data-n": p.n, "data-focus": "retry:" + p.n,
                                    "aria-label": "Retry post #" + p.n}, "Retry", {n: Number(p.n)}));
    }
    return h("li", {class: "post " + cls(p.kind), "data-n": p.n, "data-state": p.state},
      meta, userText("div", {class: "text"}, p.text), h("div", {}, plats));
  });
  $("log").replaceChildren(...items);
  const count = S.posts.length;
  if (lastLogCount !== null && count > lastLogCount) {
    const p = S.posts[S.posts.length - 1];
    announce("Posted #" + p.n + (p.by ? " by " + p.by : "") + ": " + p.text.slice(0, 80));
  }
  lastLogCount = count;
}
// Retract or correct a live post: the first press asks (on the button itself), the second does it.
let withdrawAsk = null;
async function withdraw(p, mode) {
  if (!withdrawAsk || withdrawAsk.n !== p.n || withdrawAsk.mode !== mode) {
    withdrawAsk = {n: p.n, mode};
    renderLogKeepingFocus();
    announce((mode === "correct" ? "Correct" : "Retract") + " post #" + p.n +
             " on every channel? Press again to confirm.");
    return;
  }
  withdrawAsk = null;
  try {
    const out = await api("retract", {n: Number(p.n)});
    const bad = Object.entries(out).filter(([, v]) => v !== "retracted");
    announce(bad.length ? "Post #" + p.n + " not retracted on " + bad.map(([k, v]) => k + ": " + v).join("; ")
                        : "Post #" + p.n + " retracted on every channel.", bad.length > 0);
    if (mode === "correct") {
      const ta = $("composer");
      ta.value = p.text; draftId = newId(); ta.focus(); measure();
    }
  } catch (e) { showError(e); }
}
function renderLogKeepingFocus() { keepFocus(renderLog); }
function renderRecent() {
  const last = S.posts.filter((p) => p.n > 0).slice(-3).reverse();
  $("recent").replaceChildren(...last.map((p) => h("li", {class: "recent " + cls(p.state)},
    p.thumb ? h("img", {src: p.thumb, alt: p.thumb_alt || ("card of post #" + p.n), width: 96,
                        loading: "lazy"}) : null,
    h("span", {}, h("span", {class: "muted"}, "#" + p.n + " · " + p.state + " · "),
      userText("span", {}, p.text.length > 120 ? p.text.slice(0, 119) + "…" : p.text)))));
}

// --- wiring -------------------------------------------------------------------------------------
const TITLE = document.title;
function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("state", (ev) => { render(JSON.parse(ev.data)); });
  es.onopen = () => {
    $("conn").textContent = "live"; $("conn").className = "conn on";
    if (!$("conn-banner").hidden) announce("Connection to the console is back.");
    $("conn-banner").hidden = true; document.body.classList.remove("offline");
    document.title = TITLE;
    const name = localStorage.getItem("uprbuzz-operator");
    if (name) api("operator", {name}).catch(() => {});
  };
  es.onerror = () => {
    $("conn").textContent = "reconnecting…"; $("conn").className = "conn off";
    if ($("conn-banner").hidden) announce("Connection to the console lost: reconnecting.", true);
    $("conn-banner").hidden = false; document.body.classList.add("offline");
    document.title = "DISCONNECTED · " + TITLE;  // seen from another tab, too
  };
}
$("composer").addEventListener("input", measure);
$("composer").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); post(); }
});
$("post-btn").onclick = post;
$("confirm-yes").onclick = async () => {
  const c = pendingConfirm; askConfirm(null);
  if (!c) return;
  try { await c.retry(); $("compose-error").textContent = ""; if (c.after) c.after(); }
  catch (e) { showError(e); }
  $("composer").focus();
};
$("confirm-no").onclick = () => { askConfirm(null); $("compose-error").textContent = ""; $("composer").focus(); };
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
$("operator-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const name = $("operator-name").value.trim();
  localStorage.setItem("uprbuzz-operator", name);
  try { await api("operator", {name}); announce("Your name is saved: " + (name || "unnamed")); }
  catch (e) { showError(e); }
};
$("operator-name").value = localStorage.getItem("uprbuzz-operator") || "";
$("template-save").onclick = () => api("template", {template: $("template-input").value}).then(() => { if (untouched()) prefill(); });
// Enter in the card's fields never posts a card: only the button does.
$("card-form").onsubmit = (ev) => { ev.preventDefault(); };
$("card-btn").onclick = () => {
  card($("card-state").value, $("card-paragraph").value, $("card-text").value, $("card-btn"));
};
$("anchor-btn").onclick = () => api("anchor", {}).catch(showError);

// Keyboard shortcuts (Alt+letter; Alt+H shows them).
function openHelp(open) {
  $("help").hidden = !open;
  if (open) $("help-close").focus(); else $("composer").focus();
}
$("help-close").onclick = () => openHelp(false);
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && !$("help").hidden) { ev.preventDefault(); openHelp(false); return; }
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const k = ev.key.toLowerCase(), code = ev.code;
  const is = (c) => k === c || code === "Key" + c.toUpperCase();
  let target = null;
  if (is("c")) target = $("composer");
  else if (is("s")) target = $("sync-input");
  else if (is("m")) target = $("mark-select");
  else if (is("n")) target = document.querySelector("#cues tr.overdue .cue-fire, #cues tr.due .cue-fire, #cues .cue-fire");
  else if (is("r")) target = document.querySelector("#health .retry-channel, #log .retry");
  else if (is("h")) { ev.preventDefault(); openHelp($("help").hidden); return; }
  else return;
  ev.preventDefault();
  if (target) target.focus(); else announce("Nothing to go to.");
});
setInterval(tick, 250);
connect();
