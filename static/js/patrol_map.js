/* The case map's patrol layer (templates/cases/map.html, data-patrols-url): the tracks of today's patrols
   in the user's scope, off by default, switched on in the layer control. The tracks are fetched the first
   time the layer is switched on. Wraps GovGridMaps.overview (maps.js) the way parties.js does. */
(function () {
  "use strict";
  if (!window.GovGridMaps || !window.L) { return; }
  var overview = window.GovGridMaps.overview;
  window.GovGridMaps.overview = function (el, gridsUrl, casesUrl) {
    var map = overview(el, gridsUrl, casesUrl);
    if (!map || !el.dataset.patrolsUrl) { return map; }
    var layer = L.layerGroup(), loaded = false;
    window.GovGridMaps.layers(map).addOverlay(layer, el.dataset.patrolsLabel || "Patrols");
    map.on("overlayadd", function (event) {
      if (event.layer !== layer || loaded) { return; }
      loaded = true;
      fetch(el.dataset.patrolsUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
        data.features.forEach(function (f) {
          var p = f.properties;
          var line = L.geoJSON(f, { style: { color: p.active ? "#7b1fa2" : "#9c6ccf", weight: p.active ? 4 : 3, opacity: 0.85 } });
          var text = document.createElement("span");  // text, never markup: names are typed by people
          text.textContent = p.worker + " · " + p.grid + " · " + p.started_at + "–" + (p.ended_at || "") + " · " + p.distance_m + " m";
          line.bindPopup(text);
          layer.addLayer(line);
        });
        el.dataset.patrols = String(data.features.length);
        el.dispatchEvent(new CustomEvent("govgrid:patrols"));
      }).catch(function (err) { console.error("patrols: " + (err && err.stack || err)); });
    });
    return map;
  };
})();
