/* The public appeal form (templates/public/appeal.html): the place as a pin on the map (maps.js), set
   from the phone's position when the citizen allows it, or by tapping the map; typing an address
   instead clears the pin. The form is a plain POST, so a refused one comes back with a fresh CAPTCHA. */
(function () {
  "use strict";
  var form = document.getElementById("appeal-form");
  var mapEl = document.getElementById("appeal-map");
  if (!form || !mapEl || !window.GovGridMaps || !window.L) { return; }
  var lon = form.elements.lon, lat = form.elements.lat, statusEl = document.getElementById("loc-status");
  var picker = GovGridMaps.picker(mapEl, mapEl.dataset.gridsUrl, lon, lat);
  var hadPoint = Boolean(lon.value && lat.value), byHand = hadPoint;
  if (!hadPoint) { lon.value = ""; lat.value = ""; picker.map.setZoom(13); }
  function say(text) { if (statusEl) { statusEl.textContent = text || ""; } }
  function placed() { byHand = true; say(form.dataset.msgPlaced); }
  picker.map.on("click", placed);
  picker.map.eachLayer(function (layer) { if (layer instanceof L.Marker) { layer.on("dragend", placed); } });
  if (!hadPoint && navigator.geolocation) {
    say(form.dataset.msgLocating);
    navigator.geolocation.getCurrentPosition(function (p) {
      if (byHand) { return; }
      picker.put(p.coords.longitude, p.coords.latitude);
      say(form.dataset.msgLocated);
    }, function () { if (!byHand) { say(form.dataset.msgDenied); } }, { enableHighAccuracy: true, timeout: 15000 });
  }
})();
