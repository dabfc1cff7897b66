// The record viewer of a datagen run report: filter, search, sort and page every record,
// open one with its full text, verdicts, scores and provenance, and mark it keep or drop.
// Reads the index (#index) at once; full texts come in chunks, parsed or loaded on demand.
(function () {
  "use strict";
  const PAGE = 50;
  const CATS = ["seed", "strategy", "split", "reason", "language"];
  const INDEX = JSON.parse(document.getElementById("index").textContent);
  const META = JSON.parse(document.getElementById("report-meta").textContent);
  const N = INDEX.n;
  const chunks = {};
  const waiting = {};
  const reviewKey = "datagen-review-" + META.run_id;
  let review = {};
  try { review = JSON.parse(localStorage.getItem(reviewKey) || "{}"); } catch (e) { review = {}; }
  let hay = null;  // lower-cased full texts, built on the first search
  let shown = [];
  let page = 0;
  let openRow = -1;
  const $ = (id) => document.getElementById(id);

  window.datagenChunk = function (j, data) {
    chunks[j] = data;
    (waiting[j] || []).forEach((f) => f());
    delete waiting[j];
  };

  function loadChunk(j) {
    if (chunks[j]) return Promise.resolve(chunks[j]);
    const inline = document.getElementById("chunk-" + j);
    if (inline) {
      chunks[j] = JSON.parse(inline.textContent);
      return Promise.resolve(chunks[j]);
    }
    return new Promise((resolve, reject) => {
      const first = !waiting[j];
      (waiting[j] = waiting[j] || []).push(() => resolve(chunks[j]));
      if (!first) return;
      const s = document.createElement("script");
      s.src = META.files + "/chunk-" + String(j).padStart(5, "0") + ".js";
      s.onerror = () => reject(new Error("cannot load " + s.src));
      document.head.appendChild(s);
    });
  }

  function record(i) {
    const j = Math.floor(i / INDEX.chunk);
    return loadChunk(j).then((c) => c[i - j * INDEX.chunk]);
  }

  function text(node, value) { node.textContent = value == null ? "" : String(value); return node; }
  function el(tag, cls, value) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (value !== undefined) text(n, value);
    return n;
  }
  // A JSON answer, tool arguments or a tool reply shown indented; anything else as it is.
  function pretty(value) {
    if (typeof value !== "string") return value == null ? "" : JSON.stringify(value, null, 2);
    const t = value.trim();
    if (!(t.startsWith("{") || t.startsWith("["))) return value;
    try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { return value; }
  }
  // A conversation (metadata.turns): each message under its role; an assistant's tool calls
  // as the tool's name and its arguments; a tool's reply with the call it answers.
  function conversation(turns) {
    const box = el("div", "conversation");
    turns.forEach((m) => {
      if (!m || typeof m !== "object") return;
      const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
      const who = m.role === "tool" ? "tool reply" + (m.tool_call_id ? " to " + m.tool_call_id : "")
        : String(m.role || "?");
      if (m.content != null && m.content !== "" || !calls.length) {
        box.appendChild(el("h5", "role " + (m.role === "tool" ? "tool" : ""), who));
        box.appendChild(el("pre", "text", pretty(m.content)));
      }
      calls.forEach((c) => {
        const fn = (c && c.function) || {};
        box.appendChild(el("h5", "role call", "calls " + (fn.name || "?") + (c.id ? " (" + c.id + ")" : "")));
        box.appendChild(el("pre", "text args", pretty(fn.arguments)));
      });
    });
    return box;
  }
  function cat(name, i) { return INDEX.dict[name][INDEX.cats[name][i]]; }

  function fillFilters() {
    CATS.forEach((name) => {
      const select = $("f-" + name);
      const counts = new Array(INDEX.dict[name].length).fill(0);
      INDEX.cats[name].forEach((c) => { counts[c] += 1; });
      const all = el("option", null, name + ": all (" + N.toLocaleString() + ")");
      all.value = "";
      select.appendChild(all);
      INDEX.dict[name].forEach((v, c) => {
        if (!counts[c]) return;
        const o = el("option", null, (v || "(none)") + " (" + counts[c].toLocaleString() + ")");
        o.value = String(c);
        select.appendChild(o);
      });
      select.addEventListener("change", () => { page = 0; update(); });
    });
    const sort = $("sort");
    [["", "record order"]].concat(Object.keys(INDEX.scores).map((k) => [k, k.replace(/_/g, " ")]))
      .forEach(([k, label]) => { const o = el("option", null, label); o.value = k; sort.appendChild(o); });
    sort.addEventListener("change", () => { page = 0; update(); });
    $("dir").addEventListener("change", () => { page = 0; update(); });
    let timer = null;
    $("q").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { page = 0; update(); }, 200);
    });
    $("prev").addEventListener("click", () => { if (page > 0) { page -= 1; render(); } });
    $("next").addEventListener("click", () => {
      if ((page + 1) * PAGE < shown.length) { page += 1; render(); }
    });
    $("download").addEventListener("click", download);
    $("close").addEventListener("click", () => { $("detail").hidden = true; openRow = -1; });
  }

  function buildHay() {
    if (hay) return Promise.resolve(hay);
    const jobs = [];
    for (let j = 0; j * INDEX.chunk < N; j += 1) jobs.push(loadChunk(j));
    $("status").textContent = "loading the full texts for search…";
    return Promise.all(jobs).then((all) => {
      hay = [];
      all.forEach((c) => c.forEach((r) => hay.push((r[0] + "\n" + r[1]).toLowerCase())));
      $("status").textContent = "";
      return hay;
    });
  }

  function update() {
    const want = {};
    CATS.forEach((name) => { const v = $("f-" + name).value; if (v !== "") want[name] = +v; });
    const q = $("q").value.trim().toLowerCase();
    const pick = (texts) => {
      const out = [];
      for (let i = 0; i < N; i += 1) {
        let ok = true;
        for (const name in want) { if (INDEX.cats[name][i] !== want[name]) { ok = false; break; } }
        if (ok && q && !(INDEX.id[i].startsWith(q) || texts[i].indexOf(q) >= 0)) ok = false;
        if (ok) out.push(i);
      }
      const key = $("sort").value;
      if (key) {
        const v = INDEX.scores[key];
        const sign = $("dir").value === "asc" ? 1 : -1;
        out.sort((a, b) => {
          const x = v[a], y = v[b];
          if (x == null && y == null) return a - b;
          if (x == null) return 1;
          if (y == null) return -1;
          return x === y ? a - b : sign * (x - y);
        });
      }
      shown = out;
      render();
    };
    if (q) buildHay().then(pick); else pick(null);
  }

  function scoreOf(i) {
    const key = $("sort").value || "quality";
    const v = (INDEX.scores[key] || [])[i];
    return v == null ? "" : (Number.isInteger(v) ? v : v.toFixed(3));
  }

  function render() {
    const body = $("rows");
    body.replaceChildren();
    const from = page * PAGE;
    shown.slice(from, from + PAGE).forEach((i) => {
      const tr = el("tr", cat("reason", i) === "kept" ? "kept" : "dropped");
      tr.dataset.row = String(i);
      const mark = review[INDEX.id[i]];
      [INDEX.id[i].slice(0, 10), cat("seed", i), cat("strategy", i), cat("split", i),
        cat("reason", i), cat("language", i), scoreOf(i), INDEX.snippet[i],
        mark ? mark.verdict : ""].forEach((v, k) => tr.appendChild(el("td", k === 7 ? "snippet" : "", v)));
      tr.addEventListener("click", () => open(i));
      body.appendChild(tr);
    });
    const last = Math.min(from + PAGE, shown.length);
    $("count").textContent = shown.length.toLocaleString() + " records";
    $("count").dataset.n = String(shown.length);
    $("page").textContent = shown.length ? (from + 1) + "–" + last : "0";
    $("prev").disabled = page === 0;
    $("next").disabled = last >= shown.length;
    $("download").textContent = "Download verdicts (" + Object.keys(review).length + ")";
  }

  function kv(rows) {
    const t = el("table", "kv");
    rows.forEach(([k, v]) => {
      if (v == null || v === "") return;
      const tr = el("tr");
      tr.appendChild(el("th", null, k));
      tr.appendChild(el("td", null, typeof v === "object" ? JSON.stringify(v) : v));
      t.appendChild(tr);
    });
    return t;
  }

  function open(i) {
    openRow = i;
    record(i).then(([instruction, response, d]) => {
      if (openRow !== i) return;
      const pane = $("detail-body");
      pane.replaceChildren();
      const id = INDEX.id[i];
      const reason = cat("reason", i);
      const verdict = reason === "kept" ? "kept" : "dropped: " + reason + " (" + (INDEX.stage[reason] || "") + ")";
      pane.appendChild(el("h3", reason === "kept" ? "ok" : "warn", verdict));
      pane.appendChild(el("h4", null, "Instruction"));
      pane.appendChild(el("pre", "text", instruction));
      pane.appendChild(el("h4", null, "Response"));
      pane.appendChild(el("pre", "text", response ? pretty(response) : "(no response)"));
      const turns = (d.metadata || {}).turns;
      if (Array.isArray(turns) && turns.length) {
        pane.appendChild(el("h4", null, "Conversation"));
        pane.appendChild(conversation(turns));
      }
      const tools = (d.metadata || {}).tools;
      if (Array.isArray(tools) && tools.length) {
        pane.appendChild(el("h4", null, "Tools the assistant was given"));
        pane.appendChild(el("pre", "text args", pretty(tools)));
      }
      if (d.source) {
        const src = d.source;
        const where = src.kind === "row" ? "row " + src.row
          : "characters " + src.start + "\u2013" + src.end + (src.heading ? ", " + src.heading : "");
        pane.appendChild(el("h4", null, "Source: " + src.file + " (" + where + ")"));
        pane.appendChild(el("pre", "text source", src.text));
      }
      pane.appendChild(el("h4", null, "Verdicts and scores"));
      pane.appendChild(kv([["id", id], ["split", cat("split", i)], ["lost to", d.lost_to],
        ["cluster", d.dup_cluster], ["detected language", d.detected_language],
        ["language score", d.language_score]].concat(Object.entries(d.scores || {}))));
      pane.appendChild(el("h4", null, "Provenance"));
      const m = d.metadata || {};
      pane.appendChild(kv([["seed", cat("seed", i)], ["strategy", cat("strategy", i)],
        ["prompt", m.prompt], ["round", m.round], ["call", m.call], ["sample", m.sample],
        ["topic", m.topic], ["persona", m.persona], ["model", d.model], ["params", d.params],
        ["finish reason", d.finish_reason], ["prompt tokens", d.prompt_tokens],
        ["completion tokens", d.completion_tokens], ["run", d.run_id], ["system", d.system]]
        .concat(Object.entries(m).filter(([k]) => !["prompt", "round", "call", "sample",
          "topic", "persona", "strategy", "turns", "tools"].includes(k)))));
      const box = el("div", "review");
      const noteBox = el("textarea");
      noteBox.id = "note";
      noteBox.placeholder = "note (optional)";
      noteBox.value = (review[id] || {}).note || "";
      const current = el("span", "mark", review[id] ? "marked " + review[id].verdict : "");
      current.id = "mark";
      ["keep", "drop", "clear"].forEach((what) => {
        const b = el("button", "btn-" + what, what === "clear" ? "Clear" : what === "keep" ? "Keep" : "Drop");
        b.id = "mark-" + what;
        b.addEventListener("click", () => mark(id, what, noteBox.value));
        if (what === "keep" && !response) {
          b.disabled = true;  // dropped before it was answered: nothing to export
          b.title = "never answered: a kept record needs a response";
        }
        box.appendChild(b);
      });
      box.appendChild(noteBox);
      box.appendChild(current);
      pane.appendChild(el("h4", null, "Review"));
      pane.appendChild(box);
      $("detail").hidden = false;
    }).catch((e) => { $("status").textContent = String(e); });
  }

  function mark(id, what, noteText) {
    if (what === "clear") delete review[id];
    else review[id] = { verdict: what, note: noteText || "", at: new Date().toISOString() };
    localStorage.setItem(reviewKey, JSON.stringify(review));
    $("mark").textContent = review[id] ? "marked " + review[id].verdict : "";
    render();
  }

  function download() {
    const lines = Object.entries(review).map(([id, r]) =>
      JSON.stringify({ id: id, verdict: r.verdict, note: r.note, at: r.at }));
    const blob = new Blob([lines.join("\n") + (lines.length ? "\n" : "")], { type: "application/x-ndjson" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "verdicts.jsonl";
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  fillFilters();
  update();
  document.body.dataset.ready = "1";
})();
