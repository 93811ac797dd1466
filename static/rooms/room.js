/* Audotics listening room: one WebSocket, JSON frames (groups/PROTOCOL.md), no build step.
   The same file drives the room page (data-mode="room") and the big screen (data-mode="tv").
   Every `state` frame re-renders the page; `votes` frames apply at once; per-member details
   (your vote, adds and vetoes left) are derived here from the frame and data-user-id. */
(() => {
  "use strict";

  const root = document.querySelector("[data-room-root]");
  if (!root) return;

  const MODE = root.dataset.mode;
  const ME = Number(root.dataset.userId);
  const CODE = root.dataset.code;
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 8000;
  const PING_MS = 20000;
  const TICK_RETRY_MS = 5000;
  const KICK_CONFIRM_MS = 4000;

  let room = JSON.parse(document.getElementById("room-state").textContent);
  let offset = room ? room.server_time_ms - Date.now() : 0;
  let socket = null;
  let attempt = 0;
  let opened = false;
  let finished = false;
  let leaving = false; // the page is being left: a closing socket is no reason to reconnect
  let pingTimer = null;
  let retryTimer = null;
  let tick = { entry: null, at: 0 };
  let kickArmed = { user: null, until: 0 };
  let results = null;
  let searchSeq = 0;
  const feedback = new Map(); // entry id -> "like" | "dislike" (what this page sent)
  const adding = new Set(); // spotify ids this page asked to enqueue, until the queue shows them

  /* --- Small helpers ------------------------------------------------------------------ */

  const bind = (name) => root.querySelector(`[data-bind="${name}"]`);
  const byTest = (id) => root.querySelector(`[data-testid="${id}"]`);
  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
  const me = () => (room ? room.members.find((m) => m.id === ME) : undefined);
  const isHost = () => me()?.role === "host";
  const isMuted = () => Boolean(me()?.muted);
  const addsLeft = () => Math.max(0, room.add_cap - (me()?.queued ?? 0));
  const vetoesLeft = () => Math.max(0, room.veto_budget - (me()?.vetoes_used ?? 0));
  const skipNeeded = () => Math.floor(room.members.length / 2) + 1;
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  function fmt(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
  }

  function hue(text) {
    let h = 0;
    for (const c of String(text)) h = (h * 31 + c.charCodeAt(0)) % 360;
    return h;
  }

  function names(list) {
    const safe = list.map((n) => (n === me()?.name ? "you" : esc(n)));
    if (safe.length < 2) return safe.join("");
    return `${safe.slice(0, -1).join(", ")} and ${safe[safe.length - 1]}`;
  }

  /** Replace a container's HTML only when it changed, keeping keyboard focus in place. */
  function swap(el, html) {
    if (!el || el.dataset.rendered === html) return;
    const active = document.activeElement;
    const key = active && el.contains(active) ? active.dataset.key : null;
    el.innerHTML = html;
    el.dataset.rendered = html;
    if (key) el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
  }

  function progressMs() {
    const entry = room?.now_playing;
    if (!entry) return 0;
    const now = Date.now() + offset;
    const at = room.position_ms + (room.is_playing ? now - room.server_time_ms : 0);
    return Math.min(Math.max(0, at), entry.track.duration_ms);
  }

  /* --- Pieces of markup ------------------------------------------------------------------ */

  const ICON = {
    up: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 6l7 9H5z"/></svg>',
    down: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 18L5 9h14z"/></svg>',
    play: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>',
    pause: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7 5h4v14H7zM13 5h4v14h-4z"/></svg>',
    next: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 5l9 7-9 7zM16 5h3v14h-3z"/></svg>',
  };

  function art(track, extra = "") {
    const letters = track.name.replace(/[^\p{L}\p{N} ]/gu, "").trim().split(/\s+/);
    const initials = letters.slice(0, 2).map((w) => w[0] || "").join("").toUpperCase();
    return `<div class="art ${extra}" style="--hue:${hue(track.spotify_id)}" aria-hidden="true">
      <span class="art__initials">${esc(initials || "♪")}</span><span class="eq"><i></i><i></i><i></i><i></i></span></div>`;
  }

  function source(entry) {
    if (entry.source !== "member" || !entry.added_by) {
      return '<span class="badge badge--auto" data-testid="source">Autofill</span>';
    }
    const who = entry.added_by.id === ME ? "you" : esc(entry.added_by.name);
    return `<span class="badge badge--member" data-testid="source">Added by ${who}</span>`;
  }

  /** Why this track: "fits Ana and Ben", "Chen neutral", "not for Dee" (the group model's
      feelings), or its own explanation where it has none (e.g. popular tracks). */
  function attribution(why) {
    const groups = { fits: [], neutral: [], "not for": [] };
    for (const m of why?.members || []) (groups[m.feeling] || groups.neutral).push(m.user);
    const parts = [];
    if (groups.fits.length) parts.push(`<span class="feel feel--fits">fits ${names(groups.fits)}</span>`);
    else if (why?.members?.length) parts.push('<span class="feel">a middle ground</span>');
    if (groups.neutral.length) parts.push(`<span class="feel">${names(groups.neutral)} neutral</span>`);
    if (groups["not for"].length) {
      parts.push(`<span class="feel feel--not">not for ${names(groups["not for"])}</span>`);
    }
    return parts.join("");
  }

  function why(entry) {
    const own = entry.source !== "member" && !entry.why?.members?.length ? entry.why?.explanation : "";
    return `<div class="why" data-testid="why"><p class="why__who"><span class="visually-hidden">Why this track: </span>${source(entry)}${attribution(entry.why)}</p>
      ${own ? `<p class="why__text">${esc(own)}</p>` : ""}</div>`;
  }

  function progress(entry) {
    const at = progressMs();
    const pct = ((100 * at) / entry.track.duration_ms).toFixed(2);
    return `<div class="progress" data-testid="progress">
      <div class="progress__track"><span class="progress__fill" data-progress-fill style="width:${pct}%"></span></div>
      <div class="progress__times"><span data-elapsed>${fmt(at)}</span><span>${fmt(entry.track.duration_ms)}</span></div></div>`;
  }

  function transport() {
    if (!isHost()) return "";
    const playing = room.is_playing;
    return `<div class="transport" data-testid="transport">
      <button type="button" class="round-btn round-btn--main" data-action="${playing ? "pause" : "play"}" data-key="playpause" data-testid="host-play" aria-label="${playing ? "Pause" : "Play"}">${playing ? ICON.pause : ICON.play}</button>
      <button type="button" class="round-btn" data-action="next" data-key="next" data-testid="host-next" aria-label="Next track">${ICON.next}</button></div>`;
  }

  function nowHtml() {
    const entry = room.now_playing;
    if (!entry) {
      return `<div class="now__empty" data-testid="now-title" data-entry-id="">Nothing is playing: add a track to start the room.</div>`;
    }
    const t = entry.track;
    const state = room.is_playing ? "Now playing" : "Paused";
    return `<div class="now__grid${room.is_playing ? " is-playing" : ""}">
      ${art(t, "now__art")}
      <div class="now__info">
        <p class="eyebrow"><span data-testid="play-state" data-playing="${room.is_playing}">${state}</span></p>
        <p class="now__title" data-testid="now-title" data-entry-id="${entry.id}">${esc(t.name)}</p>
        <p class="now__artist">${esc(t.artist)}${t.album ? ` · ${esc(t.album)}` : ""}</p>
      </div>${transport()}</div>
      ${progress(entry)}${why(entry)}`;
  }

  function feedbackHtml() {
    const entry = room.now_playing;
    if (!entry) return "";
    const sent = feedback.get(entry.id);
    const voted = entry.skip_votes.includes(ME);
    const off = isMuted() ? " disabled" : "";
    return `<button type="button" class="pill-btn${sent === "like" ? " is-on" : ""}" data-action="like" data-key="like" data-testid="like" aria-pressed="${sent === "like"}"${off}>👍 Like</button>
      <button type="button" class="pill-btn${sent === "dislike" ? " is-on" : ""}" data-action="dislike" data-key="dislike" data-testid="dislike" aria-pressed="${sent === "dislike"}"${off}>👎 Not for me</button>
      <button type="button" class="pill-btn pill-btn--skip${voted ? " is-on" : ""}" data-action="skip" data-key="skip" data-testid="skip" aria-pressed="${voted}"${off}>
        ${voted ? "Voted to skip" : "Vote to skip"} <span class="pill-btn__count" data-testid="skip-count">${entry.skip_votes.length}/${skipNeeded()} to skip</span></button>`;
  }

  function entryHtml(entry, index) {
    const mine = entry.votes[String(ME)] || 0;
    const off = isMuted() ? " disabled" : "";
    const host = isHost()
      ? `<button type="button" class="link-btn link-btn--danger" data-action="remove" data-entry="${entry.id}" data-key="rm-${entry.id}" data-testid="remove">Remove</button>`
      : "";
    const vetoOff = isMuted() || vetoesLeft() <= 0 ? " disabled" : "";
    return `<li class="entry${entry.added_by?.id === ME ? " entry--mine" : ""}" data-testid="queue-entry" data-entry-id="${entry.id}">
      <span class="entry__pos" aria-hidden="true">${index + 1}</span>
      <div class="entry__main">
        <p class="entry__title">${esc(entry.track.name)}</p>
        <p class="entry__meta">${esc(entry.track.artist)} · ${fmt(entry.track.duration_ms)}</p>
        ${why(entry)}
        <p class="entry__tools">
          <button type="button" class="link-btn" data-action="veto" data-entry="${entry.id}" data-key="veto-${entry.id}" data-testid="veto"${vetoOff}>Veto <span class="muted">(${vetoesLeft()} left)</span></button>${host}</p>
      </div>
      <div class="entry__votes" role="group" aria-label="Votes">
        <button type="button" class="vote vote--up${mine === 1 ? " is-on" : ""}" data-action="vote" data-entry="${entry.id}" data-value="${mine === 1 ? 0 : 1}" data-key="up-${entry.id}" data-testid="vote-up" aria-pressed="${mine === 1}" aria-label="Vote up"${off}>${ICON.up}<span data-testid="up-count">${entry.up}</span></button>
        <button type="button" class="vote vote--down${mine === -1 ? " is-on" : ""}" data-action="vote" data-entry="${entry.id}" data-value="${mine === -1 ? 0 : -1}" data-key="down-${entry.id}" data-testid="vote-down" aria-pressed="${mine === -1}" aria-label="Vote down"${off}>${ICON.down}<span data-testid="down-count">${entry.down}</span></button>
      </div></li>`;
  }

  function memberTools(member) {
    if (!isHost() || member.id === ME) return "";
    const armed = kickArmed.user === member.id && Date.now() < kickArmed.until;
    return `<div class="member__tools">
      <button type="button" class="link-btn" data-action="mute" data-user="${member.id}" data-key="mute-${member.id}" data-testid="mute">${member.muted ? "Unmute" : "Mute"}</button>
      <button type="button" class="link-btn link-btn--danger${armed ? " is-armed" : ""}" data-action="kick" data-user="${member.id}" data-key="kick-${member.id}" data-testid="kick">${armed ? "Tap again to remove" : "Remove"}</button></div>`;
  }

  function memberHtml(member) {
    const badges = [
      member.id === ME ? '<span class="badge badge--you">you</span>' : "",
      member.role === "host" ? '<span class="badge badge--host" data-testid="host-badge">host</span>' : "",
      member.guest ? '<span class="badge">guest</span>' : "",
      member.muted ? '<span class="badge badge--warn">muted</span>' : "",
    ].join("");
    const h = Math.round(member.harmony);
    return `<li class="member" data-testid="member" data-user-id="${member.id}" data-online="${member.online}">
      <span class="avatar avatar--sm" style="--hue:${hue(member.name)}" aria-hidden="true">${esc(member.name.slice(0, 1).toUpperCase())}
        <span class="presence${member.online ? " is-on" : ""}" data-testid="presence"></span></span>
      <div class="member__body">
        <p class="member__name"><span class="member__label">${esc(member.name)}</span>${badges}<span class="visually-hidden">${member.online ? "online" : "away"}</span></p>
        <span class="meter" title="harmony ${h} of 100"><span class="meter__fill" style="--size:${h}%"></span></span>
      </div>
      <span class="member__h" title="harmony ${h} of 100" data-testid="member-harmony">${h}</span>
      ${memberTools(member)}</li>`;
  }

  function harmonyHtml() {
    const h = Math.round(room.harmony);
    const fair = room.policy === "fairness";
    const words =
      h >= 75 ? "Everyone's in tune" : h >= 55 ? "Mostly in tune"
        : h >= 35 ? "Someone is waiting for their song"
          : fair ? "Out of tune: fairness is catching up" : "Out of tune: try the fairness policy";
    return `<div class="harmony" data-testid="room-harmony" data-value="${h}">
      <div class="harmony__ring" style="--value:${h}"><span>${h}</span></div>
      <div><p class="harmony__label">Room harmony</p><p class="harmony__words">${words}</p></div></div>`;
  }

  function historyHtml() {
    if (!room.history.length) return '<li class="history__empty muted">Nothing has finished yet.</li>';
    return room.history.map((e) => {
      const rx = Object.entries(e.reactions).map(([k, n]) => `${k}${n}`).join(" ");
      const who = e.added_by ? `added by ${e.added_by.id === ME ? "you" : esc(e.added_by.name)}` : "autofill";
      return `<li class="hist" data-testid="history-entry" data-entry-id="${e.id}">
        <span class="hist__state hist__state--${e.state}">${e.state}</span>
        <div class="hist__body"><p class="hist__title">${esc(e.track.name)}</p>
        <p class="hist__meta">${esc(e.track.artist)} · ${who}${rx ? ` · ${esc(rx)}` : ""}</p></div></li>`;
    }).join("");
  }

  function resultsHtml() {
    if (!results) return "";
    const queued = new Set([room.now_playing, ...room.queue].filter(Boolean).map((e) => e.track.spotify_id));
    const left = addsLeft();
    const head = `<p class="search-results__head"><span>${plural(results.count, "match", "matches")}</span>
      <span data-testid="adds-left">${plural(left, "add", "adds")} left</span></p>`;
    if (!results.results.length) return `${head}<p class="muted">No track matches “${esc(results.q)}”.</p>`;
    const rows = results.results.map((t) => {
      const inQueue = queued.has(t.spotify_id);
      const off = inQueue || left <= 0 || isMuted() ? " disabled" : "";
      return `<li class="result"><div class="result__body"><p class="result__title">${esc(t.name)}</p>
        <p class="result__meta">${esc(t.artist)}${t.album ? ` · ${esc(t.album)}` : ""}</p></div>
        <button type="button" class="chip-button" data-action="enqueue" data-track="${esc(t.spotify_id)}" data-key="add-${esc(t.spotify_id)}" data-testid="add-track"${off}>${inQueue ? "In queue" : "Add"}</button></li>`;
    }).join("");
    return `${head}<ul class="results">${rows}</ul>`;
  }

  /* --- Rendering ------------------------------------------------------------------------ */

  function renderHead() {
    const policy = root.querySelector(`[data-action="policy"] option[value="${CSS.escape(room.policy)}"]`);
    const lock = room.locked ? ' <span class="badge badge--warn badge--inline" data-testid="locked-badge">locked</span>' : "";
    swap(bind("meta"), `${plural(room.members.length, "person", "people")} listening · ${esc(policy ? policy.textContent.split(":")[0] : room.policy)}${lock}`);
    swap(bind("count"), `${room.members.filter((m) => m.online).length} online`);
  }

  function renderHost() {
    const panel = byTest("host-controls");
    panel.hidden = !isHost();
    const lock = panel.querySelector('[data-action="lock"]');
    lock.checked = room.locked;
    const select = panel.querySelector('[data-action="policy"]');
    if (document.activeElement !== select) select.value = room.policy;
  }

  function renderReactions() {
    const counts = room.now_playing?.reactions || {};
    for (const el of root.querySelectorAll("[data-reaction-count]")) {
      const n = counts[el.dataset.reactionCount] || 0;
      el.textContent = n ? String(n) : "";
    }
    for (const el of root.querySelectorAll('[data-action="react"]')) el.disabled = isMuted() || !room.now_playing;
  }

  function renderRoom() {
    renderHead();
    renderHost();
    swap(bind("now"), nowHtml());
    swap(bind("feedback"), feedbackHtml());
    renderReactions();
    swap(bind("allowance"), `<span data-testid="adds-left-head">${plural(addsLeft(), "add", "adds")} left</span> · <span data-testid="vetoes-left">${plural(vetoesLeft(), "veto", "vetoes")} left</span>`);
    swap(bind("queue"), room.queue.map(entryHtml).join("") || '<li class="muted">The queue is empty.</li>');
    swap(bind("harmony"), harmonyHtml());
    swap(bind("members"), room.members.map(memberHtml).join(""));
    swap(bind("history"), historyHtml());
    swap(bind("results"), resultsHtml());
    bind("results").hidden = !results;
    byTest("muted-notice").hidden = !isMuted();
  }

  function tvNowHtml() {
    const entry = room.now_playing;
    if (!entry) return '<p class="tv-now__empty" data-testid="now-title" data-entry-id="">Nothing is playing yet.</p>';
    const rx = Object.entries(entry.reactions).map(([k, n]) => `<span class="rx">${k} ${n}</span>`).join("");
    return `${art(entry.track, `tv-now__art${room.is_playing ? " is-playing" : ""}`)}
      <div class="tv-now__info">
        <p class="eyebrow"><span data-testid="play-state" data-playing="${room.is_playing}">${room.is_playing ? "Now playing" : "Paused"}</span></p>
        <p class="tv-now__title" data-testid="now-title" data-entry-id="${entry.id}">${esc(entry.track.name)}</p>
        <p class="tv-now__artist">${esc(entry.track.artist)}</p>
        ${progress(entry)}${why(entry)}<p class="tv-now__rx">${rx}</p></div>`;
  }

  function tvNextHtml(entry) {
    return `<li class="tv-next__item" data-testid="queue-entry" data-entry-id="${entry.id}">${art(entry.track, "art--sm")}
      <div><p class="tv-next__title">${esc(entry.track.name)}</p><p class="tv-next__meta">${esc(entry.track.artist)} · ${
        entry.added_by ? `added by ${esc(entry.added_by.name)}` : "autofill"}</p></div></li>`;
  }

  function renderTv() {
    swap(bind("now"), tvNowHtml());
    swap(bind("queue"), room.queue.slice(0, 3).map(tvNextHtml).join("") || '<li class="muted">The queue is empty.</li>');
    const members = room.members.map((m) => `<li><span class="presence${m.online ? " is-on" : ""}"></span>${esc(m.name)} <b>${Math.round(m.harmony)}</b></li>`).join("");
    swap(bind("harmony"), `${harmonyHtml()}<ul class="tv-people">${members}</ul>`);
  }

  function render() {
    if (!room) return;
    swap(bind("name"), esc(room.name));
    if (MODE === "tv") renderTv();
    else renderRoom();
  }

  /** Between frames only the progress bar moves; a finished track asks the server to advance. */
  function step() {
    const entry = room?.now_playing;
    if (!entry) return;
    const at = progressMs();
    const fill = root.querySelector("[data-progress-fill]");
    if (fill) fill.style.width = `${((100 * at) / entry.track.duration_ms).toFixed(2)}%`;
    const elapsed = root.querySelector("[data-elapsed]");
    if (elapsed) elapsed.textContent = fmt(at);
    if (kickArmed.user !== null && Date.now() > kickArmed.until) {
      kickArmed = { user: null, until: 0 };
      render();
    }
    const due = room.is_playing && at >= entry.track.duration_ms;
    if (due && (tick.entry !== entry.id || Date.now() - tick.at > TICK_RETRY_MS)) {
      tick = { entry: entry.id, at: Date.now() };
      send({ type: "tick" });
    }
  }

  /* --- Feedback: toasts, flying reactions, the connection pill, the end overlay ------------ */

  function toast(message, kind = "info") {
    const box = byTest("toasts");
    const el = document.createElement("div");
    el.className = `toast toast--${kind}`;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.dataset.testid = "toast";
    el.textContent = message;
    box.append(el);
    while (box.children.length > 3) box.firstElementChild.remove();
    setTimeout(() => el.classList.add("is-leaving"), 3600);
    setTimeout(() => el.remove(), 4000);
  }

  function flyUp(emoji) {
    const layer = root.querySelector(".floaters");
    const el = document.createElement("span");
    el.className = "floater";
    el.textContent = emoji;
    el.style.left = `${8 + Math.random() * 84}%`;
    el.style.setProperty("--drift", `${Math.round(Math.random() * 80 - 40)}px`);
    el.addEventListener("animationend", () => el.remove());
    layer.append(el);
  }

  function setConnection(state, label) {
    const pill = byTest("connection");
    pill.dataset.state = state;
    swap(bind("conn"), label);
  }

  function showBanner(show, delay = 0) {
    byTest("reconnecting").hidden = !show;
    const retry = bind("retry");
    if (retry) retry.textContent = show ? `trying again in ${(delay / 1000).toFixed(1)} s` : "";
  }

  /** The end of this page's membership: kicked, left or gone. The first reason shown stays. */
  function finish(title, text) {
    if (finished) return;
    finished = true;
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    showBanner(false);
    setConnection("closed", "Not in the room");
    bind("overlay-title").textContent = title;
    bind("overlay-text").textContent = text;
    byTest("overlay").hidden = false;
  }

  /* --- The socket ----------------------------------------------------------------------- */

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    if (frame.type !== "tick" && frame.type !== "ping") toast("Not connected yet: try again in a moment.", "error");
    return false;
  }

  function connect() {
    clearTimeout(retryTimer);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${encodeURIComponent(CODE)}/`);
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
  }

  function onOpen() {
    const again = opened;
    opened = true;
    attempt = 0;
    setConnection("live", "Live");
    showBanner(false);
    if (again) send({ type: "resync" });
    clearInterval(pingTimer);
    pingTimer = setInterval(() => send({ type: "ping" }), PING_MS);
  }

  /** Exponential backoff: 0.5 s doubling to 8 s, each wait jittered by ±20 %. */
  function onClose(event) {
    clearInterval(pingTimer);
    if (finished || leaving) return;
    if (event.code === 4404) return finish("This room has closed", "It no longer exists.");
    if (event.code === 4403) {
      return finish("You're not in this room", "You left, or the host removed you. The recap keeps what played.");
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
    const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
    attempt += 1;
    setConnection("reconnecting", "Reconnecting…");
    showBanner(true, delay);
    retryTimer = setTimeout(connect, delay);
  }

  function onMessage(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    const handler = HANDLERS[frame.type];
    if (handler) handler(frame);
  }

  function applyVotes(frame) {
    const entry = room.queue.find((e) => e.id === frame.entry);
    if (!entry) return;
    entry.up = frame.up;
    entry.down = frame.down;
    if (frame.value) entry.votes[String(frame.by)] = frame.value;
    else delete entry.votes[String(frame.by)];
    if (frame.removed) room.queue = room.queue.filter((e) => e.id !== frame.entry);
    render();
  }

  const HANDLERS = {
    state(frame) {
      room = frame.room;
      offset = room.server_time_ms - Date.now();
      for (const entry of room.queue) {
        if (!adding.delete(entry.track.spotify_id)) continue;
        toast(`Added “${entry.track.name}” to the queue.`);
      }
      render();
    },
    votes: applyVotes,
    reaction(frame) {
      flyUp(frame.emoji);
      const entry = room.now_playing;
      if (entry && entry.id === frame.entry) {
        entry.reactions[frame.emoji] = (entry.reactions[frame.emoji] || 0) + 1;
        if (MODE === "tv") renderTv();
        else renderReactions();
      }
    },
    kicked(frame) {
      if (frame.user === ME) return finish("The host removed you", "You can't rejoin this room. The recap keeps what played.");
      const who = room.members.find((m) => m.id === frame.user);
      toast(`${who ? who.name : "Someone"} was removed by the host.`);
    },
    error(frame) {
      if (frame.code === "left") return finish("You're not in this room", frame.message);
      adding.clear();
      toast(frame.message || "That didn't work.", "error");
    },
    pong() {},
  };

  /* --- What people do -------------------------------------------------------------------- */

  const ACTIONS = {
    react: (el) => send({ type: "react", emoji: el.dataset.emoji }),
    like: () => sendFeedback("like"),
    dislike: () => sendFeedback("dislike"),
    skip: () => send({ type: "skip" }),
    vote: (el) => send({ type: "vote", entry: Number(el.dataset.entry), value: Number(el.dataset.value) }),
    veto: (el) => send({ type: "veto", entry: Number(el.dataset.entry) }),
    remove: (el) => send({ type: "remove", entry: Number(el.dataset.entry) }),
    play: () => send({ type: "play" }),
    pause: () => send({ type: "pause" }),
    next: () => send({ type: "next" }),
    enqueue(el) {
      if (send({ type: "enqueue", track: el.dataset.track })) adding.add(el.dataset.track);
    },
    mute(el) {
      const member = room.members.find((m) => m.id === Number(el.dataset.user));
      if (member) send({ type: "mute", user: member.id, muted: !member.muted });
    },
    kick(el) {
      const user = Number(el.dataset.user);
      if (kickArmed.user === user && Date.now() < kickArmed.until) {
        kickArmed = { user: null, until: 0 };
        send({ type: "kick", user });
      } else {
        kickArmed = { user, until: Date.now() + KICK_CONFIRM_MS };
      }
      render();
    },
    copy(el) {
      const done = () => toast("Join link copied.");
      if (navigator.clipboard) navigator.clipboard.writeText(el.dataset.copy).then(done, () => selectLink());
      else selectLink();
    },
  };

  function selectLink() {
    const input = byTest("share-link");
    input.focus();
    input.select();
  }

  function sendFeedback(kind) {
    const entry = room.now_playing;
    if (entry && send({ type: kind })) {
      feedback.set(entry.id, kind);
      render();
    }
  }

  root.addEventListener("click", (event) => {
    const el = event.target.closest("button[data-action]");
    if (!el || el.disabled || !root.contains(el)) return;
    const action = ACTIONS[el.dataset.action];
    if (action) action(el);
  });

  root.addEventListener("change", (event) => {
    const el = event.target;
    if (el.dataset.action === "lock") send({ type: "lock", locked: el.checked });
    if (el.dataset.action === "policy") send({ type: "policy", policy: el.value });
  });

  /* --- Track search (GET /api/v1/tracks?q=...: session auth, no CSRF for a GET) ------------ */

  async function search(text) {
    const q = text.trim();
    const seq = ++searchSeq;
    if (q.length < 2) {
      results = null;
      return render();
    }
    const url = `${root.dataset.tracksUrl}?q=${encodeURIComponent(q)}&limit=8`;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || response.statusText);
      if (seq === searchSeq) {
        results = { q, count: body.count, results: body.results };
        render();
      }
    } catch (error) {
      toast(`Search failed: ${error.message}`, "error");
    }
  }

  function wireSearch() {
    const input = byTest("track-search");
    const form = byTest("search-form");
    if (!input || !form) return;
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => search(input.value), 250);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      input.value = "";
      search("");
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      search(input.value);
    });
  }

  /* --- Start ----------------------------------------------------------------------------- */

  window.addEventListener("pagehide", () => {
    leaving = true;
    socket?.close();
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted || finished) return;
    leaving = false;
    connect();
  });
  window.addEventListener("online", () => {
    if (!finished && socket?.readyState === WebSocket.CLOSED) connect();
  });
  wireSearch();
  render();
  setInterval(step, 250);
  connect();
})();
