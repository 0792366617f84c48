/* GovGrid maps: grid boundaries as vectors, cases as points coloured by light. No tile server is
   needed; one is used when the MAP_TILE_URL setting gives it. */
(function () {
  "use strict";
  var LIGHT = { green: "#1e8e3e", yellow: "#e6a100", red: "#d93025", "": "#9aa5b1" };
  // Leaflet finds its pin images through a url() in leaflet.css, which it no longer recognises once
  // collectstatic has given them hashed names (production): the pin's 2x image and shadow would 404.
  var leafletCss = document.querySelector('link[rel="stylesheet"][href*="vendor/leaflet/leaflet."]');
  if (leafletCss && window.L) { L.Icon.Default.imagePath = leafletCss.href.replace(/[^\/]*$/, "") + "images/"; }

  function base(el, options) {
    // maxZoom: marker clustering needs one, and with no tile layer nothing else sets it.
    var map = L.map(el, Object.assign({ zoomControl: true, attributionControl: false, preferCanvas: true, maxZoom: 19 }, options || {}));
    if (window.GOVGRID_TILES) { L.tileLayer(window.GOVGRID_TILES, { maxZoom: 19 }).addTo(map); }
    return map;
  }

  function grids(map, url, fit) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {
        style: { color: "#1f5fbf", weight: 1, fillColor: "#dfe9f7", fillOpacity: 0.35 },
        onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, { sticky: true }); }
      }).addTo(map);
      if (fit && layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
      return layer;
    });
  }

  function marker(lon, lat, light) {
    return L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 2, fillColor: LIGHT[light || ""] || LIGHT[""], fillOpacity: 1, light: light || "" });
  }

  window.GovGridMaps = {
    /* The map's one layer control, made on first use: each optional layer (buildings, patrols) adds
       itself to it, so the map never shows two controls whatever order their data arrives in. */
    layers: function (map) {
      if (!map.govgridLayers) { map.govgridLayers = L.control.layers(null, {}, { collapsed: false }).addTo(map); }
      return map.govgridLayers;
    },
    caseMap: function (el, gridsUrl) {
      if (!el) { return; }
      var lon = parseFloat(el.dataset.lon), lat = parseFloat(el.dataset.lat);
      var map = base(el).setView([lat, lon], 16);
      grids(map, gridsUrl, false).then(function (layer) {
        layer.eachLayer(function (l) {
          if (l.feature.properties.code === el.dataset.grid) {
            l.setStyle({ weight: 3, fillOpacity: 0.5 });
            map.fitBounds(l.getBounds(), { padding: [12, 12] });
            el.dataset.grid_shown = "1";
          }
        });
      });
      marker(lon, lat, el.dataset.light).addTo(map);
    },
    overview: function (el, gridsUrl, casesUrl) {
      var map = base(el).setView([23.02, 113.12], 11);
      el.govgridMap = map;  // for the layers that wrap this function, and the browser tests
      // At city scale the page asks for vector tiles (map_tiles.js) instead of the GeoJSON below; they
      // start once the outlines (outlines.js) have framed the map, so no tile is fetched for a view
      // that is left at once.
      var tiled = { grids: !!(el.dataset.gridTiles && window.GovGridMaps.gridTiles),
                    cases: !!(el.dataset.caseTiles && window.GovGridMaps.caseTiles) };
      if (tiled.grids || tiled.cases) {
        var started = false;
        var start = function () {
          if (started) { return; }
          started = true;
          if (tiled.grids) { window.GovGridMaps.gridTiles(map, el); }
          if (tiled.cases) { window.GovGridMaps.caseTiles(map, el); }
        };
        if (el.dataset.outlinesUrl) {
          el.addEventListener("govgrid:outlines", start, { once: true });
          setTimeout(start, 4000);  // outlines that never came must not keep the cases away
        } else { start(); }
      }
      if (tiled.cases) {
        if (!tiled.grids) { grids(map, gridsUrl, !el.dataset.outlinesUrl); }
        return map;
      }
      (tiled.grids ? Promise.resolve() : grids(map, gridsUrl, true)).then(function () {
        return fetch(casesUrl, { credentials: "same-origin" });
      }).then(function (r) { return r.json(); }).then(function (data) {
        var RANK = { red: 3, yellow: 2, green: 1 };
        // A cluster takes the colour of its worst light: a red case must not hide in a green crowd.
        var cluster = L.markerClusterGroup({
          showCoverageOnHover: false, maxClusterRadius: 40,
          iconCreateFunction: function (c) {
            var worst = "";
            c.getAllChildMarkers().forEach(function (m) {
              if ((RANK[m.options.light] || 0) > (RANK[worst] || 0)) { worst = m.options.light; }
            });
            return L.divIcon({ html: "<div><span>" + c.getChildCount() + "</span></div>",
                               className: "marker-cluster cluster-" + (worst || "none"), iconSize: L.point(40, 40) });
          }
        });
        data.features.forEach(function (f) {
          var c = f.geometry.coordinates, p = f.properties;
          var m = marker(c[0], c[1], p.light);
          m.bindPopup('<a href="' + p.url + '">' + p.number + "</a><br>" + p.category + " · " + p.status);
          cluster.addLayer(m);
        });
        map.addLayer(cluster);
        el.dataset.cases = String(data.features.length);
        el.dispatchEvent(new CustomEvent("govgrid:loaded"));
      }).catch(function (err) { console.error("map: " + (err && err.stack || err)); });
      return map;
    },
    /* The report form's pin: drag it, or tap the map; writes lon/lat into the given inputs. */
    picker: function (el, gridsUrl, lonInput, latInput) {
      var lon = parseFloat(lonInput.value) || 113.12, lat = parseFloat(latInput.value) || 23.02;
      var map = base(el).setView([lat, lon], 16);
      grids(map, gridsUrl, !lonInput.value);
      var pin = L.marker([lat, lon], { draggable: true, keyboard: true }).addTo(map);
      function put(ll) { pin.setLatLng(ll); lonInput.value = ll.lng.toFixed(6); latInput.value = ll.lat.toFixed(6); }
      pin.on("dragend", function () { put(pin.getLatLng()); });
      map.on("click", function (e) { put(e.latlng); });
      return { map: map, put: function (lon, lat) { put(L.latLng(lat, lon)); map.setView([lat, lon], 17); } };
    }
  };
})();
