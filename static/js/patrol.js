/* The patrol page on the phone (templates/worker/patrol.html): records the track while the page is open.

   navigator.geolocation.watchPosition gives positions as the phone has them; one is kept every
   data-point-seconds (a fix less accurate than 100 m, or one implying more than 50 m/s from the last
   kept one, is a GPS jump and is dropped here, as the server would refuse the batch). Kept positions
   are put, every data-batch-seconds and whenever the page is hidden or closed, as one batch into the
   offline queue (static/js/offline.js: IndexedDB, each batch with its own client_uuid), which sends it
   when there is a network and keeps it until then. The server takes a resent batch once (a position
   is unique by its time), so a batch whose answer was lost is harmless.

   The page shows the time since the start and the distance: the server's at page load plus what this
   page kept since. The check-in form and the end of the patrol get the current position and time
   written into their hidden fields, and "report a finding" carries the patrol and the position. */
(function () {
  "use strict";
  var root = document.getElementById("patrol");
  if (!root || !window.GovGridQueue) { return; }
  var cfg = root.dataset;
  var POINT_MS = Math.max(1, parseInt(cfg.pointSeconds, 10) || 15) * 1000;
  var BATCH_MS = Math.max(1, parseInt(cfg.batchSeconds, 10) || 60) * 1000;
  var MAX_ACCURACY_M = 100, MAX_SPEED_MPS = 50;
  var started = new Date(cfg.started).getTime();
  var baseMetres = parseFloat(cfg.distance) || 0, localMetres = 0;
  var buffer = [], kept = 0, last = null, watch = null, stopped = false;
  var timeEl = document.getElementById("patrol-time");
  var distanceEl = document.getElementById("patrol-distance");
  var keptEl = document.getElementById("patrol-kept");
  var statusEl = document.getElementById("patrol-status");
  var finding = document.getElementById("patrol-finding");

  function metres(a, b) {
    var r = 6371008.8, rad = Math.PI / 180;
    var dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    var h = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function status(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "locstatus" + (kind ? " locstatus-" + kind : "");
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60;
    timeEl.textContent = h + ":" + pad(m) + (h ? "" : ":" + pad(seconds % 60));
    distanceEl.textContent = String(Math.round(baseMetres + localMetres));
    keptEl.textContent = String(kept);
    // The forms carry the moment they are sent from (the queue may post them much later).
    var nowIso = new Date().toISOString();
    Array.prototype.forEach.call(document.querySelectorAll("#checkin-form input[name=at], #end-form input[name=at]"),
      function (input) { input.value = nowIso; });
  }

  function place(fix) {
    Array.prototype.forEach.call(document.querySelectorAll("#checkin-form input[name=lon]"), function (i) { i.value = fix.lon.toFixed(6); });
    Array.prototype.forEach.call(document.querySelectorAll("#checkin-form input[name=lat]"), function (i) { i.value = fix.lat.toFixed(6); });
    if (finding) {
      finding.href = cfg.reportUrl + "?patrol=" + encodeURIComponent(cfg.patrol) + "&lon=" + fix.lon.toFixed(6) +
        "&lat=" + fix.lat.toFixed(6);
    }
  }

  /* The kept positions since the last batch, into the queue as one item; then, online, the queue is sent
     (also with nothing new: what waits goes out within a batch interval of the network's return, even
     when the browser said "online" a moment before the network could carry it). */
  function batch() {
    if (!buffer.length) {
      return navigator.onLine !== false ? window.GovGridQueue.flush() : Promise.resolve(null);
    }
    return queueKept().then(function () {
      return navigator.onLine !== false ? window.GovGridQueue.flush() : null;
    });
  }

  /* Only into the queue (IndexedDB), not sent: resolves once the positions are safe on the phone. */
  function queueKept() {
    if (!buffer.length) { return Promise.resolve(null); }
    var points = buffer;
    buffer = [];
    var label = cfg.msgLabel + " · " + cfg.msgPositions.replace("%(n)s", points.length);
    return window.GovGridQueue.add(cfg.pointsUrl, [["points", JSON.stringify(points)]], "patrol-points", label)
      .then(null, function () { buffer = points.concat(buffer); });  // IndexedDB refused: keep them for the next try
  }

  function onPosition(position) {
    var c = position.coords;
    var fix = { lon: c.longitude, lat: c.latitude, recorded_at: new Date(position.timestamp || Date.now()).toISOString(),
                accuracy: c.accuracy == null ? null : Math.round(c.accuracy * 10) / 10, t: position.timestamp || Date.now() };
    place(fix);
    if (stopped) { return; }
    status(cfg.msgRecording, "ok");
    if (c.accuracy != null && c.accuracy > MAX_ACCURACY_M) { return; }
    if (last) {
      var dt = (fix.t - last.t) / 1000;
      if (dt * 1000 < POINT_MS) { return; }
      var d = metres(last, fix);
      if (d / dt > MAX_SPEED_MPS) { return; }
      localMetres += d;
    }
    last = fix;
    kept += 1;
    buffer.push({ lon: Math.round(fix.lon * 1e6) / 1e6, lat: Math.round(fix.lat * 1e6) / 1e6,
                  recorded_at: fix.recorded_at, accuracy: fix.accuracy });
    tick();
  }

  function onError(error) {
    status(error && error.code === 1 ? cfg.msgDenied : cfg.msgUnavailable, "warn");
  }

  function stop() {
    stopped = true;
    if (watch !== null) { navigator.geolocation.clearWatch(watch); watch = null; }
    return batch();
  }

  if (navigator.geolocation) {
    status(cfg.msgLocating);
    watch = navigator.geolocation.watchPosition(onPosition, onError,
                                                { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 });
  } else {
    onError(null);
  }
  tick();
  setInterval(tick, 1000);
  setInterval(batch, BATCH_MS);
  // Nothing stays in memory only when the page goes away (the phone locks, the worker switches apps).
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { batch(); } });
  window.addEventListener("pagehide", function () { batch(); });
  // The end: the last positions go into the queue before the end itself (offline.js sends the form).
  var end = document.getElementById("end-patrol");
  if (end) {
    end.addEventListener("click", function () {
      stop();
      status(cfg.msgEnded);
    });
  }
  // A check-in or a finding leaves the page (the queue opens the patrol page again after sending): what
  // was kept goes into the queue first, so leaving loses no position.
  var checkin = document.getElementById("checkin-submit");
  if (checkin) { checkin.addEventListener("click", function () { queueKept(); }); }
  if (finding) {
    finding.addEventListener("click", function (event) {
      if (!buffer.length) { return; }
      event.preventDefault();
      var go = function () { window.location.assign(finding.href); };
      queueKept().then(go, go);
    });
  }
  window.GovGridPatrol = { batch: batch, stop: stop, kept: function () { return kept; } };
})();
