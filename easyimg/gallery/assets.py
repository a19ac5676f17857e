"""The gallery page's inline style sheet and script (data)."""

# The grid is plain HTML and CSS; the script only adds the filter, the lightbox, the keys and
# the copy buttons, so the page still works with JavaScript off. Cards far from the viewport
# are not laid out (content-visibility): 10,000 of them load in about a third of the time.
CSS = """\
:root{color-scheme:light dark;--bg:#f4f4f2;--fg:#1c1c1c;--mut:#5f5f5f;--card:#fff;\
--line:#d9d9d6;--acc:#1d4ed8;--bad:#b42318;--chk:#0000000d}
@media (prefers-color-scheme:dark){:root{--bg:#121315;--fg:#e6e6e6;--mut:#a0a0a0;\
--card:#1d1e21;--line:#34363a;--acc:#8ab4ff;--bad:#ff8f85;--chk:#ffffff0d}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;\
background:var(--bg);color:var(--fg)}
header{position:sticky;top:0;z-index:2;padding:12px 16px;background:var(--bg);\
border-bottom:1px solid var(--line)}
h1{margin:0;font-size:18px;overflow-wrap:anywhere}
.tot{margin:2px 0 0;color:var(--mut)}
.bar{display:flex;flex-wrap:wrap;gap:8px;margin-top:10px;align-items:center}
.bar input{flex:1 1 220px;min-width:0}
input,select,button{font:inherit;color:inherit;background:var(--card);\
border:1px solid var(--line);border-radius:6px;padding:6px 9px}
button{cursor:pointer}
button:hover,select:hover{border-color:var(--mut)}
:focus-visible{outline:2px solid var(--acc);outline-offset:2px}
#n{color:var(--mut)}
.g{list-style:none;margin:0;padding:16px;display:grid;gap:14px;\
grid-template-columns:repeat(auto-fill,minmax(210px,1fr))}
.c{display:flex;flex-direction:column;background:var(--card);border:1px solid var(--line);\
border-radius:8px;overflow:hidden;content-visibility:auto;contain-intrinsic-size:auto 370px}
.c>a,.ph{display:block;position:relative;aspect-ratio:1;background:var(--chk)}
.c img{position:absolute;inset:0;display:block;width:100%;height:100%;object-fit:contain}
.ph{display:grid;place-items:center;color:var(--mut);text-decoration:none}
.f .ph{color:var(--bad);font-weight:600}
.c p{margin:8px 10px 0;overflow-wrap:anywhere;display:-webkit-box;-webkit-box-orient:vertical;\
-webkit-line-clamp:3;overflow:hidden}
.c small{display:block;margin:4px 10px 10px;color:var(--mut);overflow-wrap:break-word}
.c .e{color:var(--bad);-webkit-line-clamp:4}
.c .n{color:var(--mut);font-style:italic}
.c .e+small{margin-top:4px}
.cp{margin:auto 10px 10px;padding:4px 8px;font-size:13px;align-self:flex-start}
.none{padding:40px 16px;color:var(--mut);text-align:center}
dialog{width:100vw;height:100vh;max-width:100vw;max-height:100vh;margin:0;padding:0;border:0;\
background:#0b0b0c;color:#eee}
dialog[open]{display:flex;flex-direction:column}
dialog::backdrop{background:#000a}
#lbi{flex:1;min-height:0;width:100%;object-fit:contain;padding:12px 12px 0}
.cap{padding:10px 16px 14px;max-height:40vh;overflow:auto}
.cap p{margin:0 0 4px;overflow-wrap:anywhere;white-space:pre-wrap}
.cap small{display:block;color:#b5b5b5;overflow-wrap:anywhere}
.cap code{display:block;margin-top:6px;color:#cfd8ff;overflow-wrap:anywhere}
.act{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}
.act a,#lbk{color:#cfd8ff;align-self:center}
#lbk{color:#b5b5b5}
dialog button{background:#26272b;border-color:#45474d;color:#eee}
@media (max-width:520px){header{position:static;padding:10px 12px}\
.bar input{flex-basis:100%}.bar select{flex:1 1 0;min-width:0}\
.g{padding:10px;gap:10px;grid-template-columns:repeat(2,minmax(0,1fr))}\
.c p{margin:6px 8px 0}.c small{margin:4px 8px 8px}.cp{margin:auto 8px 8px}}
[hidden]{display:none!important}
"""

JS = """\
"use strict";
(() => {
  const d = document, $ = (id) => d.getElementById(id);
  const grid = $("g");
  if (!grid) return;
  const bar = $("bar"), q = $("q"), fm = $("fm"), fs = $("fs"), count = $("n");
  const lb = $("lb"), big = $("lbi"), lbP = $("lbp"), lbM = $("lbm"), lbC = $("lbc");
  const lbOpen = $("lbo"), lbCopy = $("lbcp"), lbK = $("lbk");
  const cards = Array.from(grid.children);
  const text = cards.map((c) => c.textContent.toLowerCase());
  let at = null;
  const n = (k) => k.toLocaleString("en");

  // Cards whose file name the shell takes as it is carry no command: it is spelled here.
  for (const c of cards) {
    const a = c.querySelector("a[href]");
    if (a && !c.dataset.c) {
      c.dataset.c = "easyimg rerun " + decodeURIComponent(a.getAttribute("href"));
    }
    if (!c.dataset.c) continue;
    const b = d.createElement("button");
    b.type = "button";
    b.className = "cp";
    b.textContent = "copy command";
    b.title = c.dataset.c;
    c.append(b);
  }
  bar.hidden = false;

  function apply() {
    const words = q.value.toLowerCase().split(/\\s+/).filter(Boolean);
    const m = fm.value, s = fs.value;
    let shown = 0;
    cards.forEach((c, i) => {
      const keep = (!m || c.dataset.m === m) && (!s || c.dataset.s === s) &&
        words.every((w) => text[i].includes(w));
      if (c.hidden === keep) c.hidden = !keep;
      if (keep) shown++;
    });
    count.textContent = shown === cards.length ? "" : `${n(shown)} of ${n(cards.length)} shown`;
  }
  q.addEventListener("input", apply);
  fm.addEventListener("change", apply);
  fs.addEventListener("change", apply);
  bar.addEventListener("submit", (e) => e.preventDefault());

  const part = (c, sel) => { const el = c.querySelector(sel); return el ? el.textContent : ""; };
  const viewable = () => cards.filter((c) => !c.hidden && c.querySelector("a[href]"));
  function show(c) {
    const list = viewable();
    const href = c.querySelector("a").getAttribute("href");
    at = c;
    big.src = href;
    big.alt = part(c, "p");
    lbP.textContent = part(c, "p");
    lbM.textContent = part(c, "small");
    lbOpen.href = href;
    lbC.textContent = c.dataset.c || "";
    lbCopy.hidden = !c.dataset.c;
    lbK.textContent = `${n(list.indexOf(c) + 1)} of ${n(list.length)}`;
    if (!lb.open) lb.showModal();
  }
  function move(step) {
    const list = viewable();
    const i = list.indexOf(at) + step;
    if (i >= 0 && i < list.length) show(list[i]);
  }
  async function copy(cmd, button) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(cmd);
      ok = true;
    } catch (_) {
      // Clipboard API refused (older browsers, some file:// setups): the old way.
      const t = d.createElement("textarea");
      t.value = cmd;
      t.setAttribute("readonly", "");
      t.style.position = "fixed";
      t.style.opacity = "0";
      (lb.open ? lb : d.body).append(t);
      t.select();
      try { ok = d.execCommand("copy"); } catch (_) { ok = false; }
      t.remove();
    }
    const label = button.textContent;
    button.textContent = ok ? "copied" : "copy failed";
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  grid.addEventListener("click", (e) => {
    const b = e.target.closest("button.cp");
    if (b) { copy(b.closest(".c").dataset.c, b); return; }
    const a = e.target.closest("a[href]");
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    show(a.closest(".c"));
  });
  d.addEventListener("keydown", (e) => {
    if (!lb.open) return;
    if (e.key === "ArrowRight") { e.preventDefault(); move(1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); move(-1); }
    else if (e.key === "Escape") { e.preventDefault(); lb.close(); }
  });
  $("lbprev").addEventListener("click", () => move(-1));
  $("lbnext").addEventListener("click", () => move(1));
  $("lbx").addEventListener("click", () => lb.close());
  lbCopy.addEventListener("click", () => { if (at) copy(at.dataset.c, lbCopy); });
  lb.addEventListener("close", () => {
    big.removeAttribute("src");
    if (at) { at.querySelector("a").focus(); }
  });
})();
"""
