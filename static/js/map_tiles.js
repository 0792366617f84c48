/* The case map at city scale (templates/cases/map.html with data-case-tiles / data-grid-tiles): grids
   and open cases as vector tiles (cases/tiles.py, grids/tiles.py), drawn by Leaflet.VectorGrid, so the
   browser fetches what is in view instead of a city's thousands of grids and a million cases.

   Cases: below zoom 15 each tile holds clusters (count, red, yellow, worst light), drawn as the same
   bubbles as the GeoJSON map's; a click zooms in. From zoom 15 one point per case, coloured by light;
   a click opens the case. maps.js calls GovGridMaps.caseTiles / gridTiles instead of its GeoJSON. */
(function () {
  "use strict";
  if (!window.GovGridMaps || !window.L || !L.vectorGrid) { return; }
  var LIGHT = { green: "#1e8e3e", yellow: "#e6a100", red: "#d93025", "": "#9aa5b1" };
  // Leaflet.VectorGrid 1.3 stops a click on its canvas tiles with L.DomEvent.fakeStop, which Leaflet 1.8
  // removed; stopping the event is what it meant (the map must not take the click as well).
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = L.DomEvent.stopPropagation; }
  var compact = window.Intl && Intl.NumberFormat ?
    new Intl.NumberFormat(document.documentElement.lang || undefined, { notation: "compact", maximumFractionDigits: 1 }) : null;

  /* VectorGrid's protobuf layer, telling what each tile held ("tiledata") as it arrives. */
  var Tiles = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise: function (coords) {
      var self = this;
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.apply(this, arguments).then(function (tile) {
        self.fire("tiledata", { coords: coords, key: self._tileCoordsToKey(coords), tile: tile });
        return tile;
      });
    },
    // A point has no latitude and longitude of its own here (it is drawn in tile pixels), but Leaflet 1.9
    // takes a small circle's click position from getLatLng(): the mouse's position is used instead.
    _createLayer: function () {
      var layer = L.VectorGrid.Protobuf.prototype._createLayer.apply(this, arguments);
      if (layer && !layer._latlng) { layer.getLatLng = null; }
      return layer;
    }
  });

  function tileLatLng(map, layer, coords, point, extent) {
    var size = layer.getTileSize();
    return map.unproject(L.point(coords.x * size.x + point.x * size.x / extent,
                                 coords.y * size.y + point.y * size.y / extent), coords.z);
  }

  function clusterIcon(p) {
    var text = compact ? compact.format(p.count) : String(p.count);
    // The GeoJSON map's bubbles (leaflet.markercluster's CSS: a 30 px disc in a 40 px ring).
    return L.divIcon({ html: "<div><span>" + text + "</span></div>", className: "marker-cluster cluster-" + (p.light || "none"),
                       iconSize: L.point(40, 40) });
  }

  window.GovGridMaps.gridTiles = function (map, el) {
    var layer = new Tiles(el.dataset.gridTiles, {
      rendererFactory: L.canvas.tile, interactive: false, maxZoom: 22, pane: "overlayPane",
      vectorTileLayerStyles: {
        // From afar a mesh of thin pale lines under the town borders, close up the strong outline.
        grids: function (p, zoom) {
          return zoom >= 14 ? { color: "#1f5fbf", weight: 1.2, opacity: 0.9, fill: true, fillColor: "#dfe9f7", fillOpacity: 0.3 }
                            : { color: "#5b8fd6", weight: 0.6, opacity: 0.55, fill: true, fillColor: "#dfe9f7", fillOpacity: 0.25 };
        }
      }
    });
    var count = 0;
    layer.on("tiledata", function (e) { count += e.tile.layers.grids ? e.tile.layers.grids.features.length : 0; });
    layer.on("load", function () { el.dataset.gridTilesLoaded = String(count); });
    return layer.addTo(map);
  };

  window.GovGridMaps.caseTiles = function (map, el) {
    var caseUrl = el.dataset.caseUrl || "/cases/0/";
    var clusters = L.layerGroup().addTo(map);
    var byTile = {};  // tile key → { markers: [...], ids: [...], clustered: n }
    var layer = new Tiles(el.dataset.caseTiles, {
      rendererFactory: L.canvas.tile, interactive: true, maxZoom: 22, pane: "markerPane",
      vectorTileLayerStyles: {
        cases: function (p) {
          if (p.count !== undefined) { return []; }  // a cluster: a bubble marker below, not a dot
          return { radius: 7, color: "#fff", weight: 2, fill: true, fillColor: LIGHT[p.light || ""] || LIGHT[""], fillOpacity: 1 };
        }
      }
    });

    function shown() {
      var ids = {}, total = 0;
      Object.keys(byTile).forEach(function (key) {
        byTile[key].ids.forEach(function (id) { ids[id] = true; });
        total += byTile[key].clustered;
      });
      return total + Object.keys(ids).length;  // a point in two tiles' buffers counts once
    }

    layer.on("tiledata", function (e) {
      // A tile dropped before its data came (the user zoomed on) must not leave bubbles behind.
      if (!layer._tiles[e.key]) { return; }
      var data = e.tile.layers.cases, entry = { markers: [], ids: [], clustered: 0 };
      (data ? data.features : []).forEach(function (f) {
        var p = f.properties;
        if (p.count === undefined) {
          var q = f.geometry[0][0];
          if (q.x >= 0 && q.y >= 0 && q.x < data.extent && q.y < data.extent) { entry.ids.push(p.id); }
          return;
        }
        entry.clustered += p.count;
        var at = tileLatLng(map, layer, e.coords, f.geometry[0][0], data.extent);
        var m = L.marker(at, { icon: clusterIcon(p), keyboard: false });
        m.on("click", function () { map.setView(at, Math.min(map.getZoom() + 2, 15)); });
        entry.markers.push(m);
        clusters.addLayer(m);
      });
      if (byTile[e.key]) { byTile[e.key].markers.forEach(function (m) { clusters.removeLayer(m); }); }
      byTile[e.key] = entry;
    });
    layer.on("tileunload", function (e) {
      var key = layer._tileCoordsToKey(e.coords), entry = byTile[key];
      if (!entry) { return; }
      entry.markers.forEach(function (m) { clusters.removeLayer(m); });
      delete byTile[key];
    });
    layer.on("click", function (e) {
      var p = e.layer && e.layer.properties;
      if (p && p.id) { window.location.href = caseUrl.replace(/\/0\/$/, "/" + p.id + "/"); }
    });
    layer.on("load", function () {
      el.dataset.cases = String(shown());
      el.dispatchEvent(new CustomEvent("govgrid:loaded"));
    });
    return layer.addTo(map);
  };
})();
