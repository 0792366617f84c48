/* GovGrid map outlines: the city, its districts, towns and communities drawn under the grids, with
   their names, so the map looks like the city with or without a tile server (MAP_TILE_URL).
   Wraps GovGridMaps.overview (maps.js) the way parties.js does; the map element names the data in
   data-outlines-url (grids/pages.py: only the areas in the user's scope). */
(function () {
  "use strict";
  if (!window.GovGridMaps || !window.L) { return; }

  var CITY = 1, DISTRICT = 2, TOWN = 3, COMMUNITY = 4;
  // Strokes get thinner down the tree; the city carries the land colour when there are no tiles.
  var STYLE = {};
  STYLE[CITY] = { color: "#3d4b5c", weight: 3, opacity: 0.9, fill: true, fillColor: "#fbfaf6", fillOpacity: 1 };
  STYLE[DISTRICT] = { color: "#5d6b7c", weight: 2.2, opacity: 0.85, dashArray: "8 5", fill: false };
  STYLE[TOWN] = { color: "#52606d", weight: 1.8, opacity: 0.85, fill: false };
  STYLE[COMMUNITY] = { color: "#9aa5b1", weight: 0.6, opacity: 0.6, fill: false };
  var LABEL_CLASS = {};
  LABEL_CLASS[CITY] = "map-label map-label-city";
  LABEL_CLASS[DISTRICT] = "map-label map-label-district";
  LABEL_CLASS[TOWN] = "map-label map-label-town";
  LABEL_CLASS[COMMUNITY] = "map-label map-label-community";
  // A label shows once its area is at least this wide on screen, and gives way to any label of a
  // higher level it would overlap (the city first, then districts, towns, communities).
  var MIN_LABEL_PX = { 1: 0, 2: 90, 3: 80, 4: 110 };

  function escapeText(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function pane(map, name, z) {
    var p = map.createPane(name);
    p.style.zIndex = String(z);
    return p;
  }

  function draw(map, el, data) {
    var hasTiles = !!window.GOVGRID_TILES;
    pane(map, "gg-land", 250);      // the city's land, above tiles (200) and below everything else
    // Borders above the grids' fill (overlay pane, 400), so a district or town line is never lost
    // among grid lines; they take no clicks, the grids under them do.
    pane(map, "gg-outlines", 410).style.pointerEvents = "none";
    var labelPane = pane(map, "gg-labels", 620);  // names above the case markers (600), under popups (700)
    labelPane.style.pointerEvents = "none";
    var land = L.svg({ pane: "gg-land" }), lines = L.svg({ pane: "gg-outlines" });
    var byLevel = {}, labels = [];
    // The topmost area in scope (the city, or a town for a town centre) carries the land fill.
    var top = data.features.length ? data.features[0].properties.level : CITY;
    data.features.forEach(function (f) {
      var level = f.properties.level;
      var style = Object.assign({}, STYLE[level] || STYLE[COMMUNITY]);
      if (level === top) {
        style = Object.assign(style, { fill: !hasTiles, fillColor: STYLE[CITY].fillColor, fillOpacity: 1 });
      }
      // Communities are many: one canvas draws them faster than hundreds of SVG paths.
      style.renderer = level === top ? land : (level === COMMUNITY ? L.canvas({ pane: "gg-outlines" }) : lines);
      style.interactive = false;
      var layer = L.geoJSON(f, { style: style, interactive: false });
      layer.addTo(map);
      layer.getLayers().forEach(function (l) {
        var path = l.getElement && l.getElement();
        if (path) { path.setAttribute("data-level", String(level)); path.setAttribute("data-code", f.properties.code); }
      });
      (byLevel[level] = byLevel[level] || []).push(layer);
      var at = f.properties.label;
      labels.push({
        level: level, name: f.properties.name, bounds: layer.getBounds(),
        marker: L.marker([at[1], at[0]], {
          pane: "gg-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: LABEL_CLASS[level] || LABEL_CLASS[COMMUNITY], iconSize: null,
                            html: "<span>" + escapeText(f.properties.name) + "</span>" })
        })
      });
    });
    el.classList.add(hasTiles ? "map-tiles" : "map-land");

    function sizeOf(b) {
      var nw = map.latLngToContainerPoint(b.getNorthWest()), se = map.latLngToContainerPoint(b.getSouthEast());
      return { w: Math.abs(se.x - nw.x), h: Math.abs(se.y - nw.y) };
    }
    // Show the names that fit: big enough areas, top levels first, no two labels overlapping.
    function place() {
      var view = map.getSize(), taken = [];
      labels.sort(function (a, b) { return a.level - b.level; });
      labels.forEach(function (lab) {
        var size = sizeOf(lab.bounds), show = size.w >= (MIN_LABEL_PX[lab.level] || 100);
        // The city's name once the whole city is in view; it is the page's context, not a place to find.
        if (lab.level === CITY) { show = size.w <= view.x * 1.6; }
        var box = null;
        if (show) {
          var p = map.latLngToContainerPoint(lab.marker.getLatLng());
          var em = lab.level === CITY ? 18 : lab.level === DISTRICT ? 15 : lab.level === TOWN ? 13 : 11;
          var w = lab.name.length * em + 10, h = em + 8;
          box = { x0: p.x - w / 2, x1: p.x + w / 2, y0: p.y - h / 2, y1: p.y + h / 2 };
          if (box.x1 < 0 || box.x0 > view.x || box.y1 < 0 || box.y0 > view.y) { show = false; }
          for (var i = 0; show && i < taken.length; i++) {
            var t = taken[i];
            if (box.x0 < t.x1 && box.x1 > t.x0 && box.y0 < t.y1 && box.y1 > t.y0) { show = false; }
          }
        }
        if (show) {
          taken.push(box);
          if (!map.hasLayer(lab.marker)) { lab.marker.addTo(map); }
        } else if (map.hasLayer(lab.marker)) {
          map.removeLayer(lab.marker);
        }
      });
      el.dataset.labels = String(taken.length);
    }
    map.on("zoomend moveend resize", place);
    place();
    // The grids (maps.js) are drawn in blue over the whole city: from afar a mesh of thin pale lines
    // under the town borders, close up the strong outline a worker looks for.
    function gridStyle() {
      var grids = [];
      map.eachLayer(function (l) {
        if (l.feature && l.feature.properties && !l.feature.properties.level && l.setStyle && l.feature.geometry.type !== "Point") {
          grids.push(l);
        }
      });
      if (!grids.length) { return; }
      // Close up once a typical grid is some 40 px across on screen.
      var close = sizeOf(grids[Math.floor(grids.length / 2)].getBounds()).w >= 40;
      grids.forEach(function (l) {
        l.setStyle(close ? { color: "#1f5fbf", weight: 1.2, opacity: 0.9, fillColor: "#dfe9f7", fillOpacity: 0.3 }
                         : { color: "#5b8fd6", weight: 0.6, opacity: 0.55, fillColor: "#dfe9f7", fillOpacity: 0.25 });
      });
    }
    map.on("zoomend", gridStyle);
    el.addEventListener("govgrid:loaded", gridStyle);
    gridStyle();
    el.dataset.outlines = String(data.features.length);
    return byLevel;
  }

  var overview = window.GovGridMaps.overview;
  window.GovGridMaps.overview = function (el, gridsUrl, casesUrl) {
    var map = overview(el, gridsUrl, casesUrl);
    var url = el.dataset.outlinesUrl;
    if (!map || !url) { return map; }
    map.options.zoomSnap = 0.25;  // frame a city snugly rather than at the next whole zoom level
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var byLevel = draw(map, el, data);
      // Frame the outlines: the same extent as the grids in scope, known before those have loaded.
      var top = byLevel[CITY] || byLevel[DISTRICT] || byLevel[TOWN];
      if (top && top.length) {
        var b = top[0].getBounds();
        top.slice(1).forEach(function (l) { b.extend(l.getBounds()); });
        map.fitBounds(b, { padding: [10, 10] });
      }
      el.dispatchEvent(new CustomEvent("govgrid:outlines"));
    }).catch(function (err) { console.error("outlines: " + (err && err.stack || err)); });
    return map;
  };
})();
