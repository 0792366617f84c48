/* GovGrid live command screen (templates/reports/live.html, reports/live.py): the figures, the feed, the
   map, sweeps and patrols, moved by server-sent events from the live stream without reloading.
   The words come from the page (live-data: labels and words already translated); the map is the big
   screen's choropleth (dashboard.js) with the cases on top. EventSource reconnects by itself and sends
   the id of the last event it got (Last-Event-ID), so the stream resumes where it broke off. */
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var data = JSON.parse(document.getElementById("live-data").textContent);
  var labels = data.labels, words = data.words;
  var LIGHT = { green: "#37d67a", yellow: "#ffc53d", red: "#ff6b5e", "": "#8fa7c0" };
  var OPEN = { reported: 1, accepted: 1, dispatched: 1, in_progress: 1, handled: 1, verified: 1 };
  var FEED_MAX = 50;
  var seen = {}, received = 0;
  var tz = (document.querySelector("[data-clock]") || {}).dataset || {};
  var timeFormat;
  try {
    timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
                                                     timeZone: tz.tz || undefined });
  } catch (e) {
    timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text != null) { node.textContent = text; }
    return node;
  }
  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key] == null ? "" : values[key]; });
  }

  /* --- the figures: counted here when the event says enough, else asked again (debounced) --- */
  function counter(name) { return root.querySelector('[data-counter="' + name + '"] .sc-value'); }
  function bump(name, delta) {
    var node = counter(name);
    if (!node || !delta) { return; }
    node.textContent = String(Math.max(0, (parseInt(node.textContent, 10) || 0) + delta));
    var tile = node.parentNode;
    tile.classList.remove("lv-flash");
    void tile.offsetWidth;  // restart the animation
    tile.classList.add("lv-flash");
  }
  var refreshTimer = null;
  // And once a minute whatever happened: the events keep the figures moving, the database keeps them right.
  setInterval(function () { refreshCounters(Math.random() * 5000); }, 60000);
  function refreshCounters(delay) {
    clearTimeout(refreshTimer);
    // A little spread, so a hundred wall screens do not ask in the same second.
    refreshTimer = setTimeout(function () {
      fetch(root.dataset.counters, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (figures) {
          if (!figures) { return; }
          Object.keys(figures).forEach(function (name) { var node = counter(name); if (node) { node.textContent = String(figures[name]); } });
        }).catch(function () {});
    }, delay == null ? 2000 + Math.random() * 3000 : delay);
  }

  /* --- the map: the choropleth of today's reports, the open cases on top --- */
  var mapBox = document.getElementById("live-map"), board = null, casesLayer = null, patrolLayer = null, markers = {};
  if (window.GovGridReports && window.L && mapBox) {
    board = window.GovGridReports.choropleth(mapBox);
    var pane = board.map.createPane("lv-cases");
    pane.style.zIndex = "450";
    casesLayer = L.layerGroup().addTo(board.map);
    patrolLayer = L.layerGroup().addTo(board.map);
    setInterval(board.refresh, 60000);
  }
  function placeCase(c, fresh) {
    if (!casesLayer || c.lon == null || c.lat == null) { return; }
    var old = markers[c.id];
    if (old) { casesLayer.removeLayer(old); }
    var m = L.circleMarker([c.lat, c.lon], { pane: "lv-cases", radius: fresh ? 9 : 6, color: fresh ? "#ffffff" : "#0b1a2e",
                                             weight: fresh ? 3 : 1, fillColor: LIGHT[c.light || ""] || LIGHT[""], fillOpacity: 0.95,
                                             className: fresh ? "lv-new" : "" });
    m.bindTooltip((c.number || "") + " " + (labels.category[String(c.category)] || ""));
    m.options.caseId = c.id;
    casesLayer.addLayer(m);
    markers[c.id] = m;
    mapBox.dataset.cases = String(Object.keys(markers).length);
  }
  function recolour(id, light) {
    var m = markers[id];
    if (m) { m.setStyle({ fillColor: LIGHT[light || ""] || LIGHT[""] }); }
  }
  function unplace(id) {
    var m = markers[id];
    if (m) { casesLayer.removeLayer(m); delete markers[id]; mapBox.dataset.cases = String(Object.keys(markers).length); }
  }
  data.cases.forEach(function (c) { placeCase(c, false); });

  /* --- the feed --- */
  var feed = document.getElementById("live-feed");
  function describe(ev) {
    var category = labels.category[String(ev.category)] || "";
    switch (ev.kind) {
      case "case_new": return format(words.case_new, { category: category, status: labels.status[ev.status] || ev.status });
      case "case_status": return format(words.case_status, { category: category, action: labels.action[ev.action] || ev.action,
                                                            status: labels.status[ev.status] || ev.status });
      case "light": return format(words.light, { category: category, light: labels.light[ev.light] || ev.light });
      case "activation": return format(ev.state === "off" ? words.activation_off : words.activation, { level: ev.level, place: ev.place || ev.area });
      case "sweep_progress": return format(words.sweep, { title: ev.title, done: ev.done, total: ev.total });
      case "patrol": return format(ev.state === "stopped" ? words.patrol_stopped : words.patrol, { place: ev.place || ev.grid });
      default: return ev.kind;
    }
  }
  function addToFeed(ev, fresh) {
    var empty = feed.querySelector(".lv-empty");
    if (empty) { empty.remove(); }
    var li = el("li", "lv-item lv-" + ev.kind + (fresh ? " lv-fresh" : ""));
    li.dataset.kind = ev.kind;
    if (ev.id != null) { li.dataset.id = String(ev.id); }
    var dot = el("span", "light light-" + (ev.light || "none"));
    dot.setAttribute("aria-hidden", "true");
    li.appendChild(dot);
    var what = el("span", "sc-what", describe(ev));
    what.appendChild(el("small", null, [ev.number, ev.place || ev.grid].filter(Boolean).join(" · ")));
    li.appendChild(what);
    li.appendChild(el("time", "lv-time", ev.at ? timeFormat.format(new Date(ev.at)) : ""));
    if (fresh) { feed.insertBefore(li, feed.firstChild); } else { feed.appendChild(li); }
    while (feed.children.length > FEED_MAX) { feed.removeChild(feed.lastChild); }
  }

  /* --- sweeps, patrols, activations: what stands when the page opens (data.standing), then the stream --- */
  function row(listId, id, build) {
    var list = document.getElementById(listId), key = listId + "-" + id;
    var empty = list.querySelector(".lv-empty");
    var li = document.getElementById(key);
    if (!li) { li = el("li", "lv-row"); li.id = key; list.insertBefore(li, list.firstChild); }
    li.textContent = "";
    build(li);
    if (empty) { empty.hidden = list.children.length > 1; }
    return li;
  }
  function drop(listId, id) {
    var li = document.getElementById(listId + "-" + id), list = document.getElementById(listId);
    if (li) { li.remove(); }
    var empty = list.querySelector(".lv-empty");
    if (empty) { empty.hidden = list.children.length > 1; }
  }
  function sweep(ev) {
    row("live-sweeps", ev.id, function (li) {
      var pct = ev.total ? Math.round(100 * ev.done / ev.total) : 0;
      li.appendChild(el("span", "lv-row-title", ev.title || ""));
      var bar = el("span", "sc-bar lv-bar"), fill = el("span", ev.late ? "sc-bar-yellow" : "sc-bar-green");
      fill.style.width = pct + "%";
      bar.appendChild(fill);
      li.appendChild(bar);
      li.appendChild(el("span", "lv-row-figure", format(words.sweep_figure, { done: ev.done, total: ev.total, late: ev.late || 0 })));
    });
  }
  var patrolMarkers = {};
  function patrol(ev) {
    if (ev.state === "stopped") {
      drop("live-patrols", ev.id);
      if (patrolMarkers[ev.id]) { patrolLayer.removeLayer(patrolMarkers[ev.id]); delete patrolMarkers[ev.id]; }
      return;
    }
    row("live-patrols", ev.id, function (li) {
      li.appendChild(el("span", "lv-patrol-dot"));
      li.appendChild(el("span", "lv-row-title", ev.place || ev.grid || ""));
      li.appendChild(el("time", "lv-time", ev.at ? timeFormat.format(new Date(ev.at)) : ""));
    });
    if (patrolLayer && ev.lon != null && ev.lat != null) {
      if (patrolMarkers[ev.id]) { patrolLayer.removeLayer(patrolMarkers[ev.id]); }
      patrolMarkers[ev.id] = L.circleMarker([ev.lat, ev.lon], { pane: "lv-cases", radius: 7, color: "#3ea6ff", weight: 3,
                                                                fillColor: "#ffffff", fillOpacity: 1 }).addTo(patrolLayer);
    }
  }
  function activation(ev) {
    var box = document.getElementById("live-activations"), key = "live-activation-" + ev.id;
    var banner = document.getElementById(key);
    if (ev.state === "off") { if (banner) { banner.remove(); } } else {
      if (!banner) { banner = el("div", "lv-banner"); banner.id = key; box.appendChild(banner); }
      banner.textContent = format(words.activation, { level: ev.level, place: ev.place || ev.area });
    }
    box.hidden = !box.children.length;
  }

  /* --- one event --- */
  function handle(ev, fresh) {
    if (ev.event_id) {
      if (seen[ev.event_id]) { return; }
      seen[ev.event_id] = 1;
    }
    switch (ev.kind) {
      case "case_new":
        if (fresh) {
          bump("new_today", 1);
          if (OPEN[ev.status]) { bump("open", 1); bump(ev.light === "red" ? "red" : ev.light === "yellow" ? "yellow" : "", 1); }
        }
        if (OPEN[ev.status]) { placeCase(ev, fresh); }
        break;
      case "case_status":
        if (OPEN[ev.status]) { if (markers[ev.id]) { recolour(ev.id, ev.light); } else { placeCase(ev, fresh); } } else { unplace(ev.id); }
        if (fresh) { refreshCounters(); }
        break;
      case "light":
        if (fresh) {
          if (ev.from === "yellow" || ev.from === "red") { bump(ev.from, -1); }
          if (ev.light === "yellow" || ev.light === "red") { bump(ev.light, 1); }
        }
        recolour(ev.id, ev.light);
        break;
      case "activation": activation(ev); break;
      case "sweep_progress": sweep(ev); break;
      case "patrol": patrol(ev); break;
    }
    addToFeed(ev, fresh);
  }
  // What is in force when the page opened (activations, sweep tasks, patrols), then the recent feed.
  (data.standing || []).forEach(function (ev) {
    if (ev.kind === "activation") { activation(ev); } else if (ev.kind === "sweep_progress") { sweep(ev); }
    else if (ev.kind === "patrol") { patrol(ev); }
  });
  data.recent.slice().reverse().forEach(function (ev) { handle(ev, false); });
  // The feed was filled oldest first at the bottom: put the newest on top.
  Array.prototype.slice.call(feed.children).reverse().forEach(function (li) { feed.appendChild(li); });

  /* --- the stream --- */
  var stateText = document.getElementById("live-state-text");
  function state(name) {
    root.dataset.state = name;
    stateText.textContent = words["state_" + name];
  }
  var source = null, lastId = "";
  function streamUrl() {
    // A new EventSource sends no Last-Event-ID: it carries on from the last event in ?after= instead.
    var url = root.dataset.stream;
    return lastId ? url.replace(/([?&]after=)[^&]*/, "$1" + encodeURIComponent(lastId)) : url;
  }
  function connect() {
    source = new EventSource(streamUrl(), { withCredentials: true });
    source.onopen = function () { state("live"); };
    source.onmessage = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      if (e.lastEventId) { lastId = e.lastEventId; }
      received += 1;
      root.dataset.received = String(received);
      handle(ev, true);
    };
    source.addEventListener("resync", function () { refreshCounters(0); if (board) { board.refresh(); } });
    source.onerror = function () {
      state("reconnecting");
      // The browser retries by itself (retry: 3 s) unless the answer was an error; then we start again.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { refreshCounters(0); connect(); }, 5000 + Math.random() * 5000);
      }
    };
  }
  connect();
  window.GovGridLive = { handle: handle, source: function () { return source; } };
})();
