// runner review: a virtualized grid of shots × takes, with filters, groups, keys, lightbox, compare, picks.
// Progressive: without this script the server's first rows, the filter form and its pages work. With
// it, the rows come from the page's JSON and only those near the viewport are in the DOM, so a grid
// of thousands of shots opens at once; posters load lazily as rows appear. Every write goes to /api/*
// with the session's token in a header, and the server answers with the rows it changed.
// Untrusted text (prompts, notes) is only ever set with textContent, never parsed as HTML.
(() => {
  "use strict";
  const doc = document;
  const live = doc.documentElement.dataset.mode === "live";
  const meta = (name) => (doc.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const token = meta("runner-token");
  let picksSha = meta("runner-picks");
  const data = JSON.parse(doc.getElementById("data").textContent);
  const rows = data.rows;
  const details = data.details.shots;
  const where = new Map(rows.map((r, i) => [r.id, i]));
  const grid = doc.getElementById("grid");
  const panel = doc.getElementById("detail");
  const toolbar = doc.querySelector(".toolbar");
  const ROW = 132; // px, as .row in review.css
  const HEADER = 34; // px, a group's heading
  const MARGIN = 800; // px of rows kept in the DOM above and below the viewport

  let view = []; // [{group, top, height} | {row, top, height}] in order
  let shown = []; // the rows of the view, in order (keys move over these)
  const drawn = new Map(); // key -> element in the DOM
  let cursor = null; // {shot, take}: what the keys act on
  let marked = null; // {shot, take}: the first take of a comparison

  const el = (tag, props = {}, ...children) => {
    const node = doc.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  };

  let toastTimer = 0;
  function toast(text) {
    const t = doc.getElementById("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
  }

  // --- a row, as the server's _row.html draws it ----------------------------------------

  function rowElement(r) {
    const attrs = { class: `row s-${r.status_class} p-${r.pick}`, id: `shot-${r.id}`, "data-shot": r.id,
      "data-status": r.status, "data-pick": r.pick, "data-model": r.model, "data-tags": r.tags.join(" "),
      "data-kind": r.kind, "data-rejected": r.rejected, "data-failed": r.failed, "data-changed": r.changed,
      "data-outdated": r.outdated };
    const badges = [el("span", { class: `badge s-${r.status_class}`, text: r.status })];
    if (r.pick === "picked") badges.push(" ", el("span", { class: "badge picked", text: `picked ${r.pick_take}` }));
    else if (r.pick === "stale") badges.push(" ", el("span", { class: "badge stale", title: r.pick_why, text: "pick stale" }));
    const head = el("div", { class: "head" },
      el("div", { class: "id" }, el("a", { href: r.spec_link, title: r.location, text: r.id }), " ", ...badges),
      el("div", { class: "meta", text: `${r.model} ${r.mode}${r.tags.length ? " · " + r.tags.join(", ") : ""}` }),
      el("div", { class: "prompt", title: r.prompt, text: r.prompt }),
      r.prompt_made ? el("div", { class: "made", title: r.prompt_made, text: `files made from: ${r.prompt_made}` }) : null,
      r.reason && r.status !== "done" ? el("div", { class: "reason", text: r.reason }) : null,
      r.note ? el("div", { class: "note", text: `“${r.note}”` }) : null);
    const takes = el("div", { class: "takes" });
    for (const t of r.takes) {
      const cls = ["take", t.picked && "picked", t.rejected && "rejected", !t.current && "old"].filter(Boolean).join(" ");
      let face;
      if (t.missing) face = el("span", { class: "missing", text: "file missing" });
      else if (t.poster) face = el("img", { loading: "lazy", decoding: "async", width: "192", height: "108", src: t.poster, alt: "" });
      else if (r.kind === "audio") face = el("span", { class: "sound", text: "♪" });
      else face = el("span", { class: "missing", text: "no poster" });
      takes.append(el("button", { type: "button", class: cls, "data-take": String(t.n), "data-src": t.src,
        "aria-label": `${r.id} take ${t.n}` }, face, el("span", { class: "label", text: t.label })));
    }
    if (!r.takes.length) takes.append(el("span", { class: "empty", text: r.status !== "waiting" ? "no takes yet" : r.reason }));
    const node = el("div", attrs, head, takes);
    for (const [k, v] of Object.entries(r.groups)) node.setAttribute(`data-g-${k.replace(/\./g, "-")}`, v);
    return node;
  }

  // --- filters, groups, and the window of rows in the DOM ----------------------------------

  function choice() {
    const f = new FormData(toolbar);
    return { group: f.get("group") || "entry", show: f.get("show") || "all", model: f.get("model") || "",
             tag: f.get("tag") || "", q: String(f.get("q") || "").trim().toLowerCase() };
  }

  const SHOW = {
    all: () => true,
    unpicked: (r) => r.pick === "unpicked" || r.pick === "stale",
    picked: (r) => r.pick === "picked",
    rejected: (r) => r.rejected,
    failed: (r) => r.failed,
    outdated: (r) => r.outdated,
    changed: (r) => r.changed,
  };

  function relayout() {
    const c = choice();
    const keep = SHOW[c.show] || SHOW.all;
    const groups = new Map();
    for (const r of rows) {
      if (!keep(r) || (c.model && r.model !== c.model) || (c.tag && !r.tags.includes(c.tag)) || (c.q && !r.id.includes(c.q))) continue;
      const name = c.group === "none" ? "" : (r.groups[c.group] || "");
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(r);
    }
    view = [];
    shown = [];
    let top = 0;
    for (const [name, members] of groups) {
      const height = name ? HEADER : 0;
      view.push({ group: name, top, height });
      top += height;
      for (const r of members) {
        view.push({ row: r, top, height: ROW });
        shown.push(r);
        top += ROW;
      }
    }
    grid.style.height = `${top}px`;
    for (const node of drawn.values()) node.remove();
    drawn.clear();
    draw();
    doc.getElementById("shown").textContent = `${shown.length} shown`;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(c)) {
      if (v && !(k === "show" && v === "all") && !(k === "group" && v === "entry")) params.set(k, v);
    }
    try { history.replaceState(null, "", params.size ? `?${params}` : location.pathname); } catch (e) { /* file: */ }
    if (cursor && !shown.some((r) => r.id === cursor.shot)) cursor = null;
  }

  function gridTop() { return grid.getBoundingClientRect().top + window.scrollY; }

  function first(y) { // the first item of the view whose bottom is below y
    let lo = 0, hi = view.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (view[mid].top + view[mid].height < y) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function draw() {
    const offset = window.scrollY - gridTop();
    const from = offset - MARGIN, to = offset + window.innerHeight + MARGIN;
    const wanted = new Set();
    for (let i = first(Math.max(0, from)); i < view.length && view[i].top < to; i++) {
      const item = view[i];
      const key = item.row ? `r:${item.row.id}` : `g:${item.group}`;
      wanted.add(key);
      if (drawn.has(key)) continue;
      const node = item.row ? rowElement(item.row)
        : el("div", { class: "group", "data-group": item.group }, item.group ? el("h2", { text: item.group }) : null);
      node.classList.add("placed");
      node.style.top = `${item.top}px`;
      node.style.height = `${item.height}px`;
      drawn.set(key, node);
      grid.append(node);
      if (item.row) mark(item.row.id);
    }
    for (const [key, node] of drawn) {
      if (!wanted.has(key)) { node.remove(); drawn.delete(key); }
    }
  }

  function button(shot, take) {
    const node = drawn.get(`r:${shot}`);
    return node ? node.querySelector(`.take[data-take="${take}"]`) : null;
  }

  function mark(shot) { // the cursor's and the comparison's classes on a freshly drawn row
    if (cursor && cursor.shot === shot) { const b = button(shot, cursor.take); if (b) b.classList.add("cursor"); }
    if (marked && marked.shot === shot) { const b = button(shot, marked.take); if (b) b.classList.add("marked"); }
  }

  let pending = false;
  window.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }, { passive: true });
  window.addEventListener("resize", () => draw());
  toolbar.addEventListener("change", relayout);
  toolbar.addEventListener("input", (e) => { if (e.target.id === "q") relayout(); });
  toolbar.addEventListener("submit", (e) => { e.preventDefault(); relayout(); });

  // --- the cursor and the details panel --------------------------------------------------------

  function reveal(shot) { // scroll the row into view, and draw it
    const item = view.find((v) => v.row && v.row.id === shot);
    if (!item) return;
    const top = gridTop() + item.top;
    const bar = toolbar.getBoundingClientRect().height;
    if (top < window.scrollY + bar) window.scrollTo(0, top - bar - 8);
    else if (top + ROW > window.scrollY + window.innerHeight) window.scrollTo(0, top + ROW - window.innerHeight + 8);
    draw();
  }

  function setCursor(shot, take) {
    const old = cursor && button(cursor.shot, cursor.take);
    if (old) old.classList.remove("cursor");
    cursor = shot ? { shot, take } : null;
    if (!cursor) return;
    reveal(shot);
    const b = button(shot, take);
    if (b) { b.classList.add("cursor"); b.focus({ preventScroll: true }); }
    showDetail();
  }

  function move(dRow, dCol) {
    if (!cursor) {
      const r = shown.find((x) => x.takes.length);
      if (r) setCursor(r.id, r.takes[0].n);
      return;
    }
    const i = shown.findIndex((r) => r.id === cursor.shot);
    const takes = shown[i].takes;
    const col = takes.findIndex((t) => t.n === cursor.take);
    if (dCol) {
      const next = takes[col + dCol];
      if (next) setCursor(cursor.shot, next.n);
      return;
    }
    for (let j = i + dRow; j >= 0 && j < shown.length; j += dRow) {
      const t = shown[j].takes;
      if (t.length) { setCursor(shown[j].id, t[Math.min(col, t.length - 1)].n); return; }
    }
  }

  const credits = (n) => (n == null ? "?" : `${n}`);

  async function load(shot) { // the live page asks for a shot's details when one of its takes is selected
    if (details[shot]) return true;
    try {
      const res = await fetch(`/details/${encodeURIComponent(shot)}`);
      if (!res.ok) return false;
      details[shot] = await res.json();
    } catch (e) { return false; }
    return true;
  }

  async function showDetail() {
    const { shot, take } = cursor;
    if (!(await load(shot)) || !cursor || cursor.shot !== shot) return;
    const info = details[shot];
    const r = rows[where.get(shot)];
    const t = info.takes[String(take)] || {};
    const dl = el("dl");
    const add = (k, v) => { dl.append(el("dt", { text: k }), el("dd", { text: v })); };
    add("status", info.status + (info.reason && info.status !== "done" ? ` — ${info.reason}` : ""));
    add("model", `${info.model} ${info.mode}`);
    add("credits", `planned ${credits(t.planned)} a take, charged ${credits(t.charged)}`);
    add("seed", t.seed == null ? "none set (the API chose one)" : String(t.seed));
    add("task", t.task_id || "-");
    add("finished", t.finished || "-");
    add("file", t.file || "-");
    if (info.pick) {
      add("pick", info.pick.take ? `take ${info.pick.take} (${info.pick.status}${info.pick.why ? ": " + info.pick.why : ""})` : "none");
      if (info.pick.by) add("by", `${info.pick.by}, ${info.pick.at}`);
      if (info.pick.note) add("note", info.pick.note);
    }
    for (const [key, now, then] of info.settings) {
      if (JSON.stringify(now) !== JSON.stringify(then)) add(key, `spec ${JSON.stringify(now)}, files ${JSON.stringify(then)}`);
    }
    const parts = [el("h3", { text: `${shot} · take ${take}` }), dl,
      el("div", { class: "dim", text: "prompt the file was made from" }), el("pre", { text: t.prompt || info.prompt || "" })];
    if (info.prompt_made) parts.push(el("div", { class: "dim", text: "the spec asks now" }), el("pre", { text: info.prompt || "" }));
    parts.push(el("p", {}, "spec: ", el("a", { href: r.spec_link, text: info.location })));
    if (live) {
      const act = el("div", { class: "actions" });
      const add_ = (text, fn) => { const b = el("button", { type: "button", text }); b.addEventListener("click", fn); act.append(b); };
      add_(`pick ${take} (${take <= 9 ? take : "-"})`, () => pick(take));
      add_("reject (x)", reject);
      add_("note (n)", note);
      add_("compare (c)", compare);
      add_("clear", clear);
      parts.push(act);
    }
    const more = info.more;
    parts.push(el("p", { class: "dim", text: `More takes: ${more.edit}, then` }), el("pre", { text: more.command }),
      el("p", { class: "dim", text: `${more.cost} a take. The page never runs it.` }));
    panel.replaceChildren(...parts);
  }

  // --- writes: picks only, with the token --------------------------------------------------------

  async function write(path, body) {
    if (!live) { toast("A static report is read-only: pick with runner review"); return; }
    let res;
    try {
      res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Runner-Token": token },
        body: JSON.stringify({ ...body, expected: picksSha || null }) });
    } catch (e) { toast("runner review is not running any more"); return; }
    let answer = {};
    try { answer = await res.json(); } catch (e) { /* an error page */ }
    if (res.status === 409) { location.assign(location.pathname + "?notice=picks-changed"); return; }
    if (!res.ok) { toast(answer.error || `error ${res.status}`); return; }
    picksSha = answer.picks_sha256 || "";
    for (const { shot, row, details: info } of answer.rows) {
      if (!where.has(shot)) continue;
      rows[where.get(shot)] = row;
      details[shot] = info;
    }
    const keep = cursor;
    relayout();
    if (keep && shown.some((r) => r.id === keep.shot)) setCursor(keep.shot, keep.take);
    toast(answer.message);
  }

  function here() {
    if (!cursor) { toast("select a take first (arrows or a click)"); return null; }
    return { ...cursor, info: details[cursor.shot] || { takes: {}, status: "", pick: null } };
  }

  function pick(n) {
    const w = here();
    if (!w) return;
    if (!rows[where.get(w.shot)].takes.some((t) => t.n === n)) { toast(`${w.shot} has no take ${n}`); return; }
    write("/api/pick", { shot: w.shot, take: n });
  }
  function reject() { const w = here(); if (w) write("/api/reject", { shot: w.shot, take: w.take }); }
  function clear() { const w = here(); if (w) write("/api/clear", { shot: w.shot }); }

  function refocus() { if (cursor) { const b = button(cursor.shot, cursor.take); if (b) b.focus({ preventScroll: true }); } }

  async function note() {
    if (!cursor) { here(); return; }
    if (!live) { toast("A static report is read-only: pick with runner review"); return; }
    // the note shown is the one the file holds: never an empty field that would save over it
    if (!(await load(cursor.shot))) { toast("cannot read the shot's note from runner review; try again"); return; }
    const w = here();
    const dialog = doc.getElementById("note");
    dialog.querySelector(".shot").textContent = w.shot;
    const input = doc.getElementById("note-text");
    input.value = (w.info.pick && w.info.pick.note) || "";
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue === "save") write("/api/note", { shot: w.shot, note: input.value });
      refocus();
    };
    dialog.showModal();
    input.focus();
  }
  doc.getElementById("note-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); doc.getElementById("note").close("save"); }
  });

  // --- viewing: lightbox and compare -----------------------------------------------------------------

  function media(at, { controls = true, muted = false } = {}) {
    const r = rows[where.get(at.shot)];
    const t = r.takes.find((x) => x.n === at.take) || {};
    if (!t.src) return el("p", { class: "dim", text: "the file is not on this machine" });
    if (r.kind === "image") return el("img", { src: t.src, alt: "" });
    const node = el(r.kind === "audio" ? "audio" : "video", { src: t.src, preload: "auto" });
    node.controls = controls;
    node.muted = muted;
    node.loop = true;
    if (t.poster && r.kind === "video") node.poster = t.poster;
    return node;
  }

  const caption = (at) => `${at.shot} · take ${at.take} · ${rows[where.get(at.shot)].status}`;

  function stopAll(dialog) {
    for (const m of dialog.querySelectorAll("video, audio")) { m.pause(); m.removeAttribute("src"); m.load(); }
  }

  function openViewer() {
    if (!cursor) return;
    const dialog = doc.getElementById("lightbox");
    const m = media(cursor);
    dialog.querySelector(".media").replaceChildren(m);
    dialog.querySelector(".caption").textContent = caption(cursor);
    dialog.onclose = () => { stopAll(dialog); refocus(); };
    dialog.showModal();
    if (m.play) m.play().catch(() => {});
  }

  // Synchronized playback: the left one leads (its controls), the right one follows it.
  function follow(lead, other) {
    lead.addEventListener("play", () => { other.currentTime = lead.currentTime; other.play().catch(() => {}); });
    lead.addEventListener("pause", () => other.pause());
    lead.addEventListener("seeked", () => { other.currentTime = lead.currentTime; });
    lead.addEventListener("ratechange", () => { other.playbackRate = lead.playbackRate; });
    lead.addEventListener("timeupdate", () => {
      if (Math.abs(other.currentTime - lead.currentTime) > 0.2) other.currentTime = lead.currentTime;
    });
  }

  function openCompare(a, b) {
    const dialog = doc.getElementById("compare");
    const left = media(a);
    const right = media(b, { controls: false, muted: true });
    dialog.querySelector(".side.a").replaceChildren(left, el("div", { class: "caption", text: caption(a) }));
    dialog.querySelector(".side.b").replaceChildren(right, el("div", { class: "caption", text: caption(b) }));
    dialog.querySelector(":scope > .caption").textContent = "The left one leads; the right one follows it.";
    if (left.play && right.play) follow(left, right);
    dialog.onclose = () => { stopAll(dialog); refocus(); };
    dialog.showModal();
    if (left.play) left.play().catch(() => {});
  }

  function compare() {
    const w = here();
    if (!w) return;
    if (!marked) {
      marked = { ...cursor };
      const b = button(marked.shot, marked.take);
      if (b) b.classList.add("marked");
      toast(`marked ${w.shot} take ${w.take}; press c on another take to compare`);
      return;
    }
    const a = marked;
    const b = button(a.shot, a.take);
    if (b) b.classList.remove("marked");
    marked = null;
    if (a.shot !== cursor.shot || a.take !== cursor.take) openCompare(a, { ...cursor });
  }

  // --- input ---------------------------------------------------------------------------------------------

  grid.addEventListener("click", (e) => {
    const b = e.target.closest(".take");
    if (!b) return;
    const shot = b.closest(".row").dataset.shot;
    const take = Number(b.dataset.take);
    if (cursor && cursor.shot === shot && cursor.take === take) openViewer();
    else setCursor(shot, take);
  });

  doc.getElementById("help-button").addEventListener("click", () => doc.getElementById("help").showModal());

  const KEYS = {
    ArrowRight: () => move(0, 1), ArrowLeft: () => move(0, -1), ArrowDown: () => move(1, 0), ArrowUp: () => move(-1, 0),
    x: reject, n: note, c: compare, "?": () => doc.getElementById("help").showModal(), Enter: openViewer,
  };

  doc.addEventListener("keydown", (e) => {
    if (e.metaKey || e.ctrlKey || e.altKey || doc.querySelector("dialog[open]")) return;
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    const fn = /^[1-9]$/.test(e.key) ? () => pick(Number(e.key)) : KEYS[e.key];
    if (!fn) return;
    e.preventDefault();
    fn();
  });

  grid.replaceChildren(); // the server's first rows: this script draws them all from here
  grid.classList.add("virtual");
  for (const pages of doc.querySelectorAll(".pages")) pages.hidden = true;
  relayout();
  doc.documentElement.dataset.ready = "1";
  if (window.performance && performance.mark) performance.mark("runner-ready"); // bench/review_scale.py reads it
})();
