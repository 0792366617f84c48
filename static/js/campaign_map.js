/* The map of a campaign's entries (plans/campaign.html, plans/campaigns.html): area entries as their
   outlines and organisations as points, green when they hold a valid certification today, red when
   not. The element names its data in data-geojson-url (only the entries in the user's scope). */
(function () {
  "use strict";
  var el = document.getElementById("campaign-map");
  if (!el || !window.L) { return; }

  var CERTIFIED = "#1f8a3b", NOT_CERTIFIED = "#c0392b";
  var map = L.map(el, { zoomControl: true }).setView([23.02, 113.12], 11);
  if (window.GOVGRID_TILES) { L.tileLayer(window.GOVGRID_TILES, { maxZoom: 19 }).addTo(map); }

  function escapeText(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function colour(f) { return f.properties.certified ? CERTIFIED : NOT_CERTIFIED; }

  fetch(el.dataset.geojsonUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, {
      style: function (f) { return { color: colour(f), weight: 2, fillColor: colour(f), fillOpacity: 0.25 }; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: colour(f), fillOpacity: 0.95 });
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindPopup('<a href="' + escapeText(p.url) + '"><strong>' + escapeText(p.name) + "</strong></a><br>" +
          escapeText(p.campaign) + "<br>" + escapeText(p.status));
      }
    }).addTo(map);
    el.dataset.features = String(data.features.length);
    if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [16, 16], maxZoom: 16 }); }
  }).catch(function (err) { console.error("campaign map: " + (err && err.stack || err)); });
})();
