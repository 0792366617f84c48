/* The report form's address (templates/worker/report.html): as the point changes (the browser's
   location, the pin dragged, the map tapped, the numbers typed), ask /m/address/ what the case would be
   filed under, the nearest standard address within 50 m or the community and grid, and show it in the
   address field, which the worker may change. What the worker typed is never overwritten.

   The point is watched rather than hooked: maps.js and report.js write lon/lat without events, and
   comparing two strings twice a second costs nothing. Without this script the field stays blank and
   intake files the same suggestion. */
(function () {
  "use strict";
  var input = document.getElementById("id_address");
  var form = input ? input.form : null;
  if (!input || !form || !window.fetch) { return; }
  var hint = document.getElementById("address-hint");
  var lon = form.elements.lon, lat = form.elements.lat;
  var suggested = "";   // the last suggestion written into the field
  var asked = "";       // the point of the last request
  var timer = null;

  function typedByHand() {
    return input.value.trim() !== "" && input.value !== suggested;
  }

  function ask(point) {
    asked = point;
    var parts = point.split(",");
    var url = input.dataset.addressUrl + "?lon=" + encodeURIComponent(parts[0]) + "&lat=" + encodeURIComponent(parts[1]);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || point !== asked) { return; }  // a newer point is on its way
        if (typedByHand()) { return; }
        suggested = body.address || "";
        input.value = suggested;
        input.dataset.source = body.source || "";
        if (hint && body.source === "building") {
          hint.textContent = input.dataset.msgBuilding.replace("%(m)s", Math.round(body.distance_m || 0));
        } else if (hint && body.source === "grid") {
          hint.textContent = input.dataset.msgGrid;
        }
      }, function () { /* offline: intake fills the address when the report arrives */ });
  }

  function watch() {
    if (!lon.value || !lat.value) { return; }
    var point = lon.value + "," + lat.value;
    if (point === asked) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () { if (lon.value + "," + lat.value === point) { ask(point); } }, 250);
    asked = point;
  }

  setInterval(watch, 500);
  watch();
})();
