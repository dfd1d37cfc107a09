// runner review: filters, grouping, keyboard, lightbox, compare and picks on the server-rendered grid.
// Progressive: the page is whole without this script (rows, links, the filter form). Every write
// goes to /api/* with the session's token in a header; the server answers with the row, rendered.
// Untrusted text (prompts, notes) is only ever set with textContent, never parsed as HTML.
(() => {
  "use strict";
  const doc = document;
  const live = doc.documentElement.dataset.mode === "live";
  const meta = (name) => (doc.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const token = meta("runner-token");
  let picksSha = meta("runner-picks");
  const details = JSON.parse(doc.getElementById("details").textContent);
  const grid = doc.getElementById("grid");
  const panel = doc.getElementById("detail");
  const toolbar = doc.querySelector(".toolbar");
  let rows = [...grid.querySelectorAll(".row")];
  let cursor = null; // the take button the keys act on
  let marked = null; // the first take of a comparison
  let grouped = new FormData(toolbar).get("group") || "entry";

  const el = (tag, props = {}, ...children) => {
    const node = doc.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
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

  // --- filters and groups -----------------------------------------------------------

  function choice() {
    const f = new FormData(toolbar);
    return { group: f.get("group") || "entry", show: f.get("show") || "all", model: f.get("model") || "",
             tag: f.get("tag") || "", q: String(f.get("q") || "").trim().toLowerCase() };
  }

  const SHOW = {
    all: () => true,
    unpicked: (d) => d.pick === "unpicked" || d.pick === "stale",
    picked: (d) => d.pick === "picked",
    rejected: (d) => "rejected" in d,
    failed: (d) => "failed" in d,
    outdated: (d) => "outdated" in d,
    changed: (d) => "changed" in d,
  };

  function matches(row, c) {
    const d = row.dataset;
    return (SHOW[c.show] || SHOW.all)(d) && (!c.model || d.model === c.model) &&
      (!c.tag || d.tags.split(" ").includes(c.tag)) && (!c.q || d.shot.includes(c.q));
  }

  function groupName(row, key) {
    if (key === "none") return "";
    return row.getAttribute("data-g-" + key.replace(/\./g, "-")) || "";
  }

  function regroup(key) {
    if (key === grouped) return;
    grouped = key;
    const sections = new Map();
    for (const r of rows) {
      const name = groupName(r, key);
      if (!sections.has(name)) sections.set(name, []);
      sections.get(name).push(r);
    }
    const fresh = [];
    for (const [name, members] of sections) {
      const s = el("section", { class: "group", "data-group": name }, name ? el("h2", { text: name }) : null);
      s.append(...members);
      fresh.push(s);
    }
    grid.replaceChildren(...fresh);
  }

  function refilter() {
    const c = choice();
    regroup(c.group);
    let shown = 0;
    for (const r of rows) {
      const ok = matches(r, c);
      r.classList.toggle("hidden", !ok);
      if (ok) shown += 1;
    }
    for (const g of grid.querySelectorAll(".group")) g.hidden = !g.querySelector(".row:not(.hidden)");
    doc.getElementById("shown").textContent = `${shown} shown`;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(c)) {
      if (v && !(k === "show" && v === "all") && !(k === "group" && v === "entry")) params.set(k, v);
    }
    try { history.replaceState(null, "", params.size ? `?${params}` : location.pathname); } catch (e) { /* file: */ }
    if (cursor && cursor.closest(".row").classList.contains("hidden")) setCursor(null);
  }

  toolbar.addEventListener("change", refilter);
  toolbar.addEventListener("input", (e) => { if (e.target.id === "q") refilter(); });
  toolbar.addEventListener("submit", (e) => { e.preventDefault(); refilter(); });

  // --- the cursor and the details panel --------------------------------------------------

  const visible = () => rows.filter((r) => !r.classList.contains("hidden"));

  function setCursor(button, scroll = true) {
    if (cursor) cursor.classList.remove("cursor");
    cursor = button;
    if (!button) { return; }
    button.classList.add("cursor");
    button.focus({ preventScroll: true });
    if (scroll) button.scrollIntoView({ block: "nearest", inline: "nearest" });
    showDetail(button);
  }

  function move(dRow, dCol) {
    const shown = visible();
    if (!cursor) {
      const first = shown.map((r) => r.querySelector(".take")).find(Boolean);
      if (first) setCursor(first);
      return;
    }
    const row = cursor.closest(".row");
    const takes = [...row.querySelectorAll(".take")];
    const col = takes.indexOf(cursor);
    if (dCol) {
      const next = takes[col + dCol];
      if (next) setCursor(next);
      return;
    }
    for (let i = shown.indexOf(row) + dRow; i >= 0 && i < shown.length; i += dRow) {
      const cells = shown[i].querySelectorAll(".take");
      if (cells.length) { setCursor(cells[Math.min(col, cells.length - 1)]); return; }
    }
  }

  function where(button) {
    const row = button.closest(".row");
    const shot = row.dataset.shot;
    const take = button.dataset.take;
    return { row, shot, take: Number(take), info: details.shots[shot], takeInfo: details.shots[shot].takes[take] };
  }

  const credits = (n) => (n == null ? "?" : `${n}`);

  function showDetail(button) {
    const { row, shot, take, info, takeInfo } = where(button);
    const t = takeInfo || {};
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
    const link = el("a", { href: row.querySelector(".id a").getAttribute("href"), text: info.location });
    const parts = [el("h3", { text: `${shot} · take ${take}` }), dl,
      el("div", { class: "dim", text: "prompt the file was made from" }), el("pre", { text: t.prompt || info.prompt || "" })];
    if (info.prompt_made) parts.push(el("div", { class: "dim", text: "the spec asks now" }), el("pre", { text: info.prompt || "" }));
    parts.push(el("p", {}, "spec: ", link));
    if (live) {
      const act = el("div", { class: "actions" });
      const button_ = (text, fn) => { const b = el("button", { type: "button", text }); b.addEventListener("click", fn); act.append(b); };
      button_(`pick ${take} (${take <= 9 ? take : "-"})`, () => pick(take));
      button_("reject (x)", reject);
      button_("note (n)", note);
      button_("compare (c)", compare);
      button_("clear", clear);
      parts.push(act);
    }
    const more = info.more;
    parts.push(el("p", { class: "dim", text: `More takes: ${more.edit}, then` }), el("pre", { text: more.command }),
      el("p", { class: "dim", text: `${more.cost} a take. The page never runs it.` }));
    panel.replaceChildren(...parts);
  }

  // --- writes: picks only, with the token ------------------------------------------------

  async function write(path, body) {
    if (!live) { toast("A static report is read-only: pick with runner review"); return; }
    let res;
    try {
      res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Runner-Token": token },
        body: JSON.stringify({ ...body, expected: picksSha || null }) });
    } catch (e) { toast("runner review is not running any more"); return; }
    let data = {};
    try { data = await res.json(); } catch (e) { /* an error page */ }
    if (res.status === 409) { location.assign(location.pathname + "?notice=picks-changed"); return; }
    if (!res.ok) { toast(data.error || `error ${res.status}`); return; }
    picksSha = data.picks_sha256 || "";
    for (const r of data.rows) replaceRow(r.shot, r.row, r.details);
    toast(data.message);
  }

  function replaceRow(shot, html, info) {
    const old = doc.getElementById(`shot-${shot}`);
    if (!old) return;
    const tpl = doc.createElement("template");
    tpl.innerHTML = html.trim(); // rendered and escaped by the server's templates
    const fresh = tpl.content.firstElementChild;
    const take = cursor && cursor.closest(".row") === old ? cursor.dataset.take : null;
    old.replaceWith(fresh);
    rows[rows.indexOf(old)] = fresh;
    details.shots[shot] = info;
    if (marked && !doc.contains(marked)) marked = null;
    if (take) {
      cursor = null;
      setCursor(fresh.querySelector(`.take[data-take="${take}"]`) || fresh.querySelector(".take"), false);
    }
    refilter();
  }

  function here() {
    if (!cursor) { toast("select a take first (arrows or a click)"); return null; }
    return where(cursor);
  }

  function pick(n) {
    const w = here();
    if (!w) return;
    if (!w.info.takes[String(n)]) { toast(`${w.shot} has no take ${n}`); return; }
    write("/api/pick", { shot: w.shot, take: n });
  }
  function reject() { const w = here(); if (w) write("/api/reject", { shot: w.shot, take: w.take }); }
  function clear() { const w = here(); if (w) write("/api/clear", { shot: w.shot }); }

  function note() {
    const w = here();
    if (!w) return;
    if (!live) { toast("A static report is read-only: pick with runner review"); return; }
    const dialog = doc.getElementById("note");
    dialog.querySelector(".shot").textContent = w.shot;
    const input = doc.getElementById("note-text");
    input.value = (w.info.pick && w.info.pick.note) || "";
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue === "save") write("/api/note", { shot: w.shot, note: input.value });
      if (cursor) cursor.focus({ preventScroll: true });
    };
    dialog.showModal();
    input.focus();
  }
  doc.getElementById("note-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); doc.getElementById("note").close("save"); }
  });

  // --- viewing: lightbox and compare -------------------------------------------------------

  function media(button, { controls = true, muted = false } = {}) {
    const kind = button.closest(".row").dataset.kind;
    const src = button.dataset.src;
    if (!src) return el("p", { class: "dim", text: "the file is not on this machine" });
    if (kind === "image") return el("img", { src, alt: "" });
    const node = el(kind === "audio" ? "audio" : "video", { src, preload: "auto" });
    node.controls = controls;
    node.muted = muted;
    node.loop = true;
    const poster = button.querySelector("img");
    if (poster && kind === "video") node.poster = poster.src;
    return node;
  }

  function caption(button) {
    const { shot, take, info } = where(button);
    return `${shot} · take ${take} · ${info.status}`;
  }

  function stopAll(dialog) {
    for (const m of dialog.querySelectorAll("video, audio")) { m.pause(); m.removeAttribute("src"); m.load(); }
  }

  function openViewer(button) {
    const dialog = doc.getElementById("lightbox");
    const m = media(button);
    dialog.querySelector(".media").replaceChildren(m);
    dialog.querySelector(".caption").textContent = caption(button);
    dialog.onclose = () => { stopAll(dialog); if (cursor) cursor.focus({ preventScroll: true }); };
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
    dialog.onclose = () => { stopAll(dialog); if (cursor) cursor.focus({ preventScroll: true }); };
    dialog.showModal();
    if (left.play) left.play().catch(() => {});
  }

  function compare() {
    const w = here();
    if (!w) return;
    if (!marked) {
      marked = cursor;
      marked.classList.add("marked");
      toast(`marked ${w.shot} take ${w.take}; press c on another take to compare`);
      return;
    }
    const first = marked;
    first.classList.remove("marked");
    marked = null;
    if (first !== cursor) openCompare(first, cursor);
  }

  // --- input ---------------------------------------------------------------------------------

  grid.addEventListener("click", (e) => {
    const button = e.target.closest(".take");
    if (!button) return;
    if (button === cursor) openViewer(button);
    else setCursor(button, false);
  });

  doc.getElementById("help-button").addEventListener("click", () => doc.getElementById("help").showModal());

  const KEYS = {
    ArrowRight: () => move(0, 1), ArrowLeft: () => move(0, -1), ArrowDown: () => move(1, 0), ArrowUp: () => move(-1, 0),
    x: reject, n: note, c: compare, "?": () => doc.getElementById("help").showModal(),
    Enter: () => { if (cursor) openViewer(cursor); },
  };

  doc.addEventListener("keydown", (e) => {
    if (e.metaKey || e.ctrlKey || e.altKey || doc.querySelector("dialog[open]")) return;
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    const fn = /^[1-9]$/.test(e.key) ? () => pick(Number(e.key)) : KEYS[e.key];
    if (!fn) return;
    e.preventDefault();
    fn();
  });

  refilter();
  doc.documentElement.dataset.ready = "1";
})();
