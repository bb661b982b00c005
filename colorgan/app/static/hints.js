// colorgan serve: colour points on a photo, for checkpoints trained with hints (model.hints).
// Zhang, Zhu et al. 2017 (arXiv:1705.02999)'s interface: click the gray image to add a point,
// whose colour starts at the model's current colour there ("suggested colour"); move, recolour
// or remove it and the result is recolorized (POST /api/jobs/{id}/hints, colorgan/app/hints.py).
// The points download as the JSON file `colorgan colorize --hints` reads (docs/hints.md).
"use strict";
const hints = (() => {
  const DEBOUNCE_MS = 200;
  let job = null, points = [], selected = -1, timer = null, seq = 0, shown = 0;
  const sample = document.createElement("canvas");  // the current result, for suggested colours
  const ctx = sample.getContext("2d", { willReadFrequently: true });

  const hex = (r, g, b) => "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");
  const round1 = (v) => Math.round(v * 10) / 10;
  const stem = () => (job.name || "photo").replace(/\.[^.]*$/, "");
  const radius = () => Math.max(0, Number($("hint_radius").value) || 0);

  // the points as the hints file holds them: photo pixels, x right, y down (colorgan.hints.user)
  function asJson() {
    const r = radius();
    return points.map((p) => (r ? { x: p.x, y: p.y, color: p.color, radius: r }
                                : { x: p.x, y: p.y, color: p.color }));
  }

  function remember(img) {  // draw the result shown into the sampling canvas
    sample.width = img.naturalWidth; sample.height = img.naturalHeight;
    ctx.drawImage(img, 0, 0);
  }

  function suggested(x, y) {
    const d = ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;
    return hex(d[0], d[1], d[2]);
  }

  function where(e) {  // a pointer event -> the photo pixel under it (pixel centres 0..W-1)
    const img = $("gray"), box = img.getBoundingClientRect();
    const fx = (e.clientX - box.left - img.clientLeft) / img.clientWidth;
    const fy = (e.clientY - box.top - img.clientTop) / img.clientHeight;
    return { x: round1(Math.min(job.width - 1, Math.max(0, fx * job.width - 0.5))),
             y: round1(Math.min(job.height - 1, Math.max(0, fy * job.height - 0.5))) };
  }

  function place(m, p) {  // a marker over its point: a disc of the point's radius (12 px at least)
    const img = $("gray"), scale = img.clientWidth / job.width;
    const size = Math.max(12, 2 * radius() * scale);
    Object.assign(m.style, { left: `${img.offsetLeft + img.clientLeft + (p.x + 0.5) * scale}px`,
      top: `${img.offsetTop + img.clientTop + (p.y + 0.5) * scale}px`, width: `${size}px`,
      height: `${size}px`, background: p.color });
  }

  function draw() {
    const layer = $("markers");
    layer.replaceChildren(); $("hint_list").replaceChildren();
    points.forEach((p, i) => {
      const m = document.createElement("span");
      m.className = "marker" + (i === selected ? " selected" : "");
      place(m, p);
      m.dataset.index = i;
      m.addEventListener("pointerdown", (e) => drag(e, i));
      m.addEventListener("contextmenu", (e) => { e.preventDefault(); remove(i); });
      layer.append(m);
      const li = document.createElement("li");
      li.className = i === selected ? "selected" : "";
      const pick = document.createElement("input");
      pick.type = "color"; pick.value = p.color; pick.title = "the point's colour";
      pick.addEventListener("input", () => { p.color = pick.value; m.style.background = p.color; changed(false); });
      pick.addEventListener("focus", () => { selected = i; });
      const x = document.createElement("button");
      x.type = "button"; x.textContent = "\u00d7"; x.title = "remove this point";
      x.addEventListener("click", () => remove(i));
      li.append(pick, ` (${p.x}, ${p.y})`, x);
      $("hint_list").append(li);
    });
    offer();
  }

  function offer() {  // the download link holds the points as they are now
    const blob = new Blob([JSON.stringify(asJson(), null, 1)], { type: "application/json" });
    const link = $("hints_download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
  }

  function changed(redraw = true) {  // redraw=false: a colour picker is open, keep it
    if (redraw) draw(); else offer();
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  function remove(i) {
    points.splice(i, 1); selected = Math.min(selected, points.length - 1); changed();
  }

  function drag(e, i) {
    if (e.button !== 0) return;
    e.preventDefault(); e.stopPropagation();
    const m = e.currentTarget; selected = i;
    m.setPointerCapture(e.pointerId);
    let moved = false;
    // the marker follows the pointer; the list, the download and the result follow on release
    const move = (ev) => { Object.assign(points[i], where(ev)); moved = true; place(m, points[i]); };
    const up = () => { m.removeEventListener("pointermove", move); m.removeEventListener("pointerup", up);
                       if (moved) changed(); else draw(); };
    m.addEventListener("pointermove", move);
    m.addEventListener("pointerup", up);
  }

  async function refresh() {
    if (!job) return;
    const mine = ++seq;
    const q = new URLSearchParams({ chroma: $("chroma").value,
                                    reference: $("use_reference").checked });
    if (!$("temperature_label").hidden) q.set("temperature", $("temperature").value);
    show(`recolorizing with ${points.length} point${points.length === 1 ? "" : "s"} ...`);
    try {
      const resp = await fetch(`/api/jobs/${job.id}/hints?${q}`, { method: "POST",
        headers: { "content-type": "application/json" }, body: JSON.stringify(asJson()) });
      if (!resp.ok) await answer(resp);  // throws the server's message
      const url = URL.createObjectURL(await resp.blob());
      if (mine !== seq) { URL.revokeObjectURL(url); return; }  // a newer change is on its way
      const img = $("color"), old = img.src;
      img.onload = () => {
        remember(img);
        if (old.startsWith("blob:")) URL.revokeObjectURL(old);
        $("download").href = url; $("download").download = `${stem()}_color.png`;
        shown = mine;
        document.body.dataset.hints = `${points.length}:${mine}`;
      };
      img.src = url;
      $("error").textContent = "";
      show(`done: ${job.width}x${job.height}, ${points.length} colour point${points.length === 1 ? "" : "s"}`);
    } catch (e) {
      if (mine !== seq) return;
      document.body.dataset.hints = "error";
      $("error").textContent = e.message; show("");
    }
  }

  function start(next) {  // a new photo result (or none): its points start empty
    job = next; points = []; selected = -1; seq = shown = 0; clearTimeout(timer);
    delete document.body.dataset.hints;
    $("hints_panel").hidden = $("gray_hint").hidden = !job;
    $("gray_wrap").classList.toggle("hinting", !!job);
    $("use_reference").checked = false; $("use_reference").disabled = true;
    $("reference_name").textContent = ""; $("reference").value = "";
    $("markers").replaceChildren(); $("hint_list").replaceChildren();
    if (!job) return;
    $("hint_radius").value = Math.max(0, Math.round(Math.min(job.width, job.height) / 40));
    $("hints_download").download = `${stem()}_hints.json`;
    $("download").removeAttribute("download");
    $("color").addEventListener("load", () => { if (!shown) remember($("color")); }, { once: true });
    draw();
  }

  $("gray").addEventListener("click", (e) => {
    if (!job || sample.width === 0) return;
    const at = where(e);
    points.push({ ...at, color: suggested(at.x, at.y) });
    selected = points.length - 1;
    changed();
  });
  $("hint_radius").addEventListener("change", () => { if (job) changed(); });
  $("use_reference").addEventListener("change", () => { if (job) changed(); });
  $("chroma").addEventListener("change", () => { if (job) changed(); });
  $("temperature").addEventListener("change", () => { if (job) changed(); });
  $("hints_clear").addEventListener("click", () => { points = []; selected = -1; changed(); });
  $("reference").addEventListener("change", async () => {
    const file = $("reference").files[0];
    if (!job || !file) return;
    show(`reading the reference ${file.name} ...`);
    try {
      await answer(await fetch(`/api/jobs/${job.id}/reference?${new URLSearchParams({ name: file.name })}`,
                               { method: "POST", body: file }));
      $("reference_name").textContent = `(${file.name})`;
      $("use_reference").disabled = false; $("use_reference").checked = true;
      changed();
    } catch (e) {
      document.body.dataset.hints = "error";
      $("error").textContent = e.message; show("");
    }
  });
  window.addEventListener("resize", () => { if (job) draw(); });
  return { start, points: () => asJson() };
})();
