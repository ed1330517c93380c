"""The slide player page: one self-contained HTML file with inline CSS and JavaScript.

`page.py` fills in `__LANG__`, `__TITLE__` and `__DATA__` (the lecture as JSON). The page
loads nothing but the clip files beside it, so it works offline, opened straight from disk.

The player shows one section at a time. When a section ends it stays on its last frame until
the presenter presses a key. Two video elements take turns, so that the next section is
already buffered when the presenter moves on and the switch shows no blank frame.
`window.lecturePlayer.state()` returns the position and phase, for tests and for scripting.
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="__LANG__">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
:root {
  --bg: #101319; --panel: #1b2029; --grid: #3a414d; --text: #eceff4; --muted: #9aa3b2;
  --accent: #56b4e9; --done: #2ec4a0;
  font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
    "Microsoft YaHei", system-ui, -apple-system, "Segoe UI", sans-serif;
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); color: var(--text); }
body { display: flex; overflow: hidden; }
#sidebar { width: 300px; flex: none; background: var(--panel); border-right: 1px solid var(--grid);
  display: flex; flex-direction: column; min-height: 0; }
body.no-sidebar #sidebar { display: none; }
#sidebar header { padding: 16px 18px 10px; }
#sidebar h1 { font-size: 17px; margin: 0 0 4px; }
#sidebar .meta { font-size: 12px; color: var(--muted); }
#sidebar .prompt { font-size: 13px; line-height: 1.4; margin-bottom: 4px; }
#clips { list-style: none; margin: 0; padding: 0 8px 12px; overflow-y: auto; flex: 1; }
#clips > li { margin: 2px 0; border-radius: 6px; }
#clips .clip { display: flex; gap: 10px; width: 100%; padding: 8px 10px; border: 0; border-radius: 6px;
  background: none; color: inherit; font: inherit; text-align: left; cursor: pointer; }
#clips .clip:hover { background: #242a35; }
#clips li.current > .clip { background: #263241; }
#clips .number { color: var(--muted); font-variant-numeric: tabular-nums; min-width: 1.6em; }
#clips .name { font-size: 14px; line-height: 1.35; }
#clips .length { font-size: 12px; color: var(--muted); }
#clips .claim { font-size: 12px; color: var(--muted); line-height: 1.4; margin-top: 3px;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
#clips ol { list-style: none; margin: 0 0 6px; padding: 0 0 0 38px; display: none; }
#clips li.current ol { display: block; }
#clips ol li { font-size: 13px; color: var(--muted); padding: 3px 6px; border-radius: 4px; cursor: pointer;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#clips ol li.seen { color: var(--done); }
#clips ol li.current { color: var(--text); background: #30405a; }
main { flex: 1; display: flex; flex-direction: column; min-width: 0; min-height: 0; }
#heading { padding: 14px 24px 8px; }
#heading .position { font-size: 13px; color: var(--muted); }
#heading h2 { font-size: 20px; margin: 2px 0 6px; }
#claim { font-size: 18px; line-height: 1.45; margin: 0; max-width: 70em; }
#stage { position: relative; flex: 1; min-height: 0; margin: 6px 24px; }
#stage video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain;
  opacity: 0; }
#stage video.active { opacity: 1; }
#hint { padding: 3px 10px; border-radius: 5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  background: #263241; color: var(--text); border: 1px solid var(--accent); visibility: hidden; max-width: 45%; }
body.ready #hint, body.waiting #hint, body.paused #hint, body.end #hint { visibility: visible; }
#start { position: absolute; left: 50%; top: 50%; width: 96px; height: 96px; margin: -48px 0 0 -48px;
  border-radius: 50%; border: 2px solid var(--accent); background: rgba(38, 50, 65, 0.9); color: var(--text);
  font-size: 38px; cursor: pointer; display: none; padding-left: 8px; }
body.ready #start { display: block; }
#empty { position: absolute; inset: 0; display: none; align-items: center; justify-content: center;
  color: var(--muted); font-size: 18px; }
body.empty #empty { display: flex; }
footer { display: flex; align-items: center; gap: 16px; padding: 8px 24px 14px; font-size: 13px; color: var(--muted); }
#bar { flex: 1; height: 4px; background: var(--grid); border-radius: 2px; overflow: hidden; }
#bar div { height: 100%; width: 0; background: var(--accent); }
#section-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 35%; }
#keys { padding: 10px 18px 14px; font-size: 12px; line-height: 2; color: var(--muted); border-top: 1px solid var(--grid); }
#keys { display: flex; flex-wrap: wrap; column-gap: 14px; }
#keys span { white-space: nowrap; }
kbd { font: inherit; padding: 0 4px; border: 1px solid var(--grid); border-radius: 3px; }
:fullscreen main { padding: 0; }
:fullscreen #heading, :fullscreen footer, :fullscreen #sidebar { display: none; }
:fullscreen #stage { margin: 0; }
</style>
</head>
<body class="ready">
<nav id="sidebar">
  <header><h1 id="lecture-title"></h1><div class="prompt" id="lecture-prompt"></div><div class="meta" id="lecture-meta"></div></header>
  <ol id="clips"></ol>
  <div id="keys"></div>
</nav>
<main>
  <div id="heading">
    <div class="position" id="position"></div>
    <h2 id="clip-title"></h2>
    <p id="claim"></p>
  </div>
  <div id="stage">
    <video id="video-a" muted playsinline preload="auto"></video>
    <video id="video-b" muted playsinline preload="auto"></video>
    <button id="start" type="button">▶</button>
    <div id="empty"></div>
  </div>
  <footer>
    <span id="section-label"></span>
    <div id="bar"><div></div></div>
    <span id="hint"></span>
  </footer>
</main>
<script type="application/json" id="lecture-data">__DATA__</script>
<script>
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("lecture-data").textContent);
  const ui = data.strings;
  const clips = data.clips;
  const body = document.body;
  const videos = [document.getElementById("video-a"), document.getElementById("video-b")];
  let active = 0;
  let clip = 0;
  let section = 0;
  let phase = "ready";
  const seen = new Set();
  const played = [];

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (match, name) => (name in values ? values[name] : match));
  }

  function clock(seconds) {
    const whole = Math.round(seconds);
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function setPhase(next) {
    phase = next;
    body.classList.remove("ready", "playing", "paused", "waiting", "end");
    body.classList.add(next);
    const hint = document.getElementById("hint");
    if (next === "ready") hint.textContent = ui.hint_start;
    else if (next === "paused") hint.textContent = ui.hint_paused;
    else if (next === "end") hint.textContent = ui.hint_end;
    else if (next === "waiting") {
      const last = section === clips[clip].sections.length - 1;
      hint.textContent = last ? format(ui.hint_next_clip, { title: clips[clip + 1].title }) : ui.hint_next;
    }
  }

  function isLastSection(c, s) {
    return c === clips.length - 1 && s === clips[c].sections.length - 1;
  }

  function following(c, s) {
    if (s + 1 < clips[c].sections.length) return [c, s + 1];
    if (c + 1 < clips.length) return [c + 1, 0];
    return null;
  }

  function preceding(c, s) {
    if (s > 0) return [c, s - 1];
    if (c > 0) return [c - 1, clips[c - 1].sections.length - 1];
    return null;
  }

  function sourceOf(c, s) {
    return new URL(clips[c].sections[s].file, document.baseURI).href;
  }

  // Load the section after (c, s) into the hidden video, so moving on is instant.
  function preloadAfter(c, s) {
    const next = following(c, s);
    const standby = videos[1 - active];
    if (!next) return;
    const url = sourceOf(next[0], next[1]);
    if (standby.src !== url) {
      standby.src = url;
      standby.load();
    }
  }

  function show(c, s, play) {
    const url = sourceOf(c, s);
    const standby = videos[1 - active];
    if (standby.src === url) {
      videos[active].pause();
      videos[active].classList.remove("active");
      active = 1 - active;
      standby.currentTime = 0;
    } else {
      videos[active].src = url;
      videos[active].load();
    }
    const video = videos[active];
    video.classList.add("active");
    videos[1 - active].classList.remove("active");
    clip = c;
    section = s;
    render();
    history.replaceState(null, "", "#clip=" + (c + 1) + "&section=" + (s + 1));
    if (play) {
      setPhase("playing");
      played.push([c, s]);
      startPlaying(video);
    } else {
      setPhase("ready");
    }
    preloadAfter(c, s);
  }

  function advance() {
    if (phase === "ready") return resume();
    const next = following(clip, section);
    if (next) show(next[0], next[1], true);
  }

  function back() {
    const video = videos[active];
    if ((phase === "playing" || phase === "paused") && video.currentTime > 1.5) {
      video.currentTime = 0;
      return resume();
    }
    const previous = preceding(clip, section);
    if (previous) show(previous[0], previous[1], true);
    else show(clip, section, true);
  }

  function resume() {
    const video = videos[active];
    if (phase === "ready") played.push([clip, section]);
    if (video.ended) video.currentTime = 0;
    setPhase("playing");
    startPlaying(video);
  }

  // play() is rejected when a later pause() or source change interrupts it, which is normal
  // when the presenter moves on quickly; only a refused start of the video on show pauses.
  function startPlaying(video) {
    const attempt = video.play();
    if (!attempt) return;
    attempt.catch((error) => {
      if (error.name !== "AbortError" && video === videos[active] && video.paused) setPhase("paused");
    });
  }

  function togglePause() {
    if (phase === "playing") {
      videos[active].pause();
      setPhase("paused");
    } else if (phase === "waiting" || phase === "end") {
      advance();
    } else {
      resume();
    }
  }

  function jumpClip(offset) {
    const target = Math.min(Math.max(clip + offset, 0), clips.length - 1);
    show(target, 0, true);
  }

  function onEnded(event) {
    if (event.target !== videos[active]) return;
    seen.add(clip + ":" + section);
    setPhase(isLastSection(clip, section) ? "end" : "waiting");
    render();
  }

  function render() {
    const current = clips[clip];
    document.getElementById("position").textContent = format(ui.clip_position, { n: clip + 1, total: clips.length });
    document.getElementById("clip-title").textContent = current.title;
    document.getElementById("claim").textContent = current.claim;
    const sec = current.sections[section];
    const label = format(ui.section_position, { n: section + 1, total: current.sections.length });
    document.getElementById("section-label").textContent = sec.label ? label + " · " + sec.label : label;
    document.querySelectorAll("#clips > li").forEach((item, c) => {
      item.classList.toggle("current", c === clip);
      item.querySelectorAll("ol li").forEach((entry, s) => {
        entry.classList.toggle("current", c === clip && s === section);
        entry.classList.toggle("seen", seen.has(c + ":" + s));
      });
    });
    const currentItem = document.querySelectorAll("#clips > li")[clip];
    if (currentItem) currentItem.scrollIntoView({ block: "nearest" });
  }

  function buildSidebar() {
    document.getElementById("lecture-title").textContent = data.title;
    document.getElementById("lecture-prompt").textContent = data.prompt;
    const total = clips.reduce((sum, c) => sum + c.duration, 0);
    const meta = clips.length === 1 ? ui.lecture_meta_one : ui.lecture_meta;
    document.getElementById("lecture-meta").textContent = format(meta, { count: clips.length, length: clock(total) });
    const list = document.getElementById("clips");
    clips.forEach((c, index) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.className = "clip";
      button.type = "button";
      button.innerHTML = '<span class="number"></span><span><div class="name"></div><div class="length"></div><div class="claim"></div></span>';
      button.querySelector(".number").textContent = index + 1;
      button.querySelector(".name").textContent = c.title;
      button.querySelector(".length").textContent =
        clock(c.duration) + " · " + format(c.sections.length === 1 ? ui.section_count_one : ui.section_count, { count: c.sections.length });
      button.querySelector(".claim").textContent = c.claim;
      button.addEventListener("click", () => show(index, 0, true));
      item.appendChild(button);
      const sections = document.createElement("ol");
      c.sections.forEach((s, number) => {
        const entry = document.createElement("li");
        entry.textContent = (number + 1) + ". " + (s.label || format(ui.section_position, { n: number + 1, total: c.sections.length }));
        entry.title = s.caption || s.label || "";
        entry.addEventListener("click", () => show(index, number, true));
        sections.appendChild(entry);
      });
      item.appendChild(sections);
      list.appendChild(item);
    });
    document.getElementById("keys").innerHTML = ui.keys_html;
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const handlers = {
      ArrowRight: advance, PageDown: advance, Enter: advance, n: advance,
      ArrowLeft: back, PageUp: back, p: back,
      " ": togglePause, k: togglePause,
      ArrowDown: () => jumpClip(1), ArrowUp: () => jumpClip(-1),
      Home: () => show(0, 0, true), End: () => show(clips.length - 1, 0, true),
      r: () => show(clip, section, true),
      f: toggleFullscreen,
      s: () => body.classList.toggle("no-sidebar"),
    };
    const handler = handlers[event.key];
    if (!handler) return;
    event.preventDefault();
    handler();
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  }

  function startPosition() {
    const match = /clip=(\d+)&section=(\d+)/.exec(location.hash);
    if (!match) return [0, 0];
    const c = Math.min(Math.max(parseInt(match[1], 10) - 1, 0), clips.length - 1);
    const s = Math.min(Math.max(parseInt(match[2], 10) - 1, 0), clips[c].sections.length - 1);
    return [c, s];
  }

  window.lecturePlayer = {
    state: () => ({
      clip: clip, section: section, phase: phase,
      src: videos[active].currentSrc, time: videos[active].currentTime,
      ended: videos[active].ended, paused: videos[active].paused,
      played: played.map((p) => p.slice()),
    }),
  };

  if (!clips.length) {
    document.getElementById("empty").textContent = ui.empty;
    document.getElementById("lecture-title").textContent = data.title;
    body.className = "empty";
    return;
  }
  buildSidebar();
  videos.forEach((video) => {
    video.addEventListener("ended", onEnded);
    video.addEventListener("timeupdate", () => {
      if (video !== videos[active] || !video.duration) return;
      document.querySelector("#bar div").style.width = (100 * video.currentTime / video.duration) + "%";
    });
    video.addEventListener("click", togglePause);
  });
  document.addEventListener("keydown", onKey);
  document.getElementById("start").addEventListener("click", resume);
  const start = startPosition();
  show(start[0], start[1], false);
})();
</script>
</body>
</html>
"""
