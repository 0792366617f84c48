/* GovGrid reports: ECharts charts and a Leaflet choropleth for the dashboard and the big screen.
   Charts read their data from a <script type="application/json"> the server wrote (labels already
   translated), so this file holds no words. After an htmx swap (the big screen refreshes every
   minute) the swapped charts are disposed and drawn again. */
(function () {
  "use strict";
  var LIGHT = { green: "#1e8e3e", yellow: "#e6a100", red: "#d93025", "": "#9aa5b1" };
  var PALETTE = ["#1f5fbf", "#7aa6e8", "#1e8e3e", "#e6a100", "#b3261e", "#6b4fbb", "#0b8a8a", "#c2571a",
                 "#5d6b7a", "#d45d95", "#3c8d2f", "#8a6d3b", "#2b7bb9", "#9c27b0"];
  var SCREEN_PALETTE = ["#3ea6ff", "#00d2c6", "#37d67a", "#ffc53d", "#ff7a45", "#b37feb", "#5cdbd3",
                        "#ff85c0", "#95de64", "#ffd666", "#69c0ff", "#ffa39e", "#d3adf7", "#87e8de"];
  // Choropleth steps: few cases pale, many deep orange-red (a heat map a room reads at a glance).
  var RAMP = ["#fff1e0", "#fdd0a2", "#fdae6b", "#f16913", "#d94801", "#8c2d04"];
  // On the dark screen: cold blue for few, through amber, to hot red for many.
  var DARK_RAMP = ["#0f2a48", "#17508a", "#2a86c9", "#f2c94c", "#f2994a", "#eb4d3d"];

  function dark() { return document.body.classList.contains("screen"); }

  function source(el) {
    var script = document.getElementById(el.dataset.source);
    return script ? JSON.parse(script.textContent)[el.dataset.chart] : null;
  }

  function axisStyle(isDark) {
    var ink = isDark ? "#9fb3c8" : "#5d6b7a", line = isDark ? "rgba(159,179,200,.18)" : "#e6eaef";
    return { axisLabel: { color: ink }, axisLine: { lineStyle: { color: line } }, splitLine: { lineStyle: { color: line } } };
  }

  var BUILDERS = {
    trend: function (d, isDark) {
      var axis = axisStyle(isDark), palette = isDark ? SCREEN_PALETTE : PALETTE;
      return {
        color: [palette[1], palette[0], palette[2], palette[3]],
        textStyle: { fontFamily: "inherit" },
        tooltip: { trigger: "axis" },
        legend: { top: 0, textStyle: { color: isDark ? "#d6e4f0" : "#1d2733", fontSize: isDark ? 14 : 12 } },
        grid: { left: 8, right: 12, top: 36, bottom: 8, containLabel: true },
        xAxis: Object.assign({ type: "category", data: d.labels.map(function (s) { return s.length === 10 ? s.slice(5) : s; }) },
                             axis, { splitLine: { show: false } }),
        yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
        series: d.series.map(function (s) {
          var line = s.type === "line";
          return { name: s.name, type: s.type, data: s.data, smooth: line, symbolSize: 5, barMaxWidth: 18,
                   itemStyle: line ? {} : { borderRadius: [3, 3, 0, 0] }, lineStyle: { width: isDark ? 3 : 2 },
                   areaStyle: line && isDark ? { opacity: 0.08 } : undefined };
        })
      };
    },
    categories: function (d, isDark) {
      return {
        color: isDark ? SCREEN_PALETTE : PALETTE,
        tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        legend: { type: "scroll", orient: "vertical", right: 0, top: "middle",
                  textStyle: { color: isDark ? "#d6e4f0" : "#1d2733", fontSize: isDark ? 13 : 12 } },
        series: [{
          name: d.name, type: "pie", radius: ["42%", "72%"], center: ["34%", "52%"], avoidLabelOverlap: true,
          itemStyle: { borderColor: isDark ? "#0b1a2e" : "#fff", borderWidth: 2, borderRadius: 4 },
          label: { show: true, position: "inside", formatter: "{d}%", color: "#fff", fontSize: isDark ? 13 : 11,
                   fontWeight: 600 },
          labelLine: { show: false },
          data: d.data
        }],
        graphic: d.data.length ? [] : [{ type: "text", left: "center", top: "middle",
                                         style: { text: "—", fill: "#9aa5b1", fontSize: 24 } }]
      };
    },
    ranking: function (d, isDark) {
      var axis = axisStyle(isDark);
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
        xAxis: Object.assign({ type: "value", max: 100 }, axis),
        yAxis: Object.assign({ type: "category", inverse: true, data: d.data.map(function (r) { return r.name; }) }, axis),
        series: [{ name: d.name, type: "bar", barMaxWidth: 16,
                   label: { show: true, position: "right", formatter: "{c}%", color: isDark ? "#d6e4f0" : "#1d2733" },
                   data: d.data.map(function (r) { return { value: r.value, itemStyle: { color: LIGHT[r.light || ""] } }; }) }]
      };
    }
  };

  function draw(root) {
    if (!window.echarts) { return; }
    var isDark = dark();
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var data = source(el);
      if (!data || !BUILDERS[el.dataset.chart]) { return; }
      var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(BUILDERS[el.dataset.chart](data, isDark), true);
      el.dataset.drawn = "1";
    });
  }

  function dispose(root) {
    if (!window.echarts || !root) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) { chart.dispose(); }
    });
  }

  function resize() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  }

  /* Cases reported, as a heat map: the grids under the area filled by their count (or the child areas
     when there are too many grids), the child areas outlined and labelled; a click opens a child. */
  function choropleth(el) {
    if (!el || !window.L) { return null; }
    var isDark = el.dataset.dark === "1", ramp = isDark ? DARK_RAMP : RAMP;
    var map = L.map(el, { zoomControl: !isDark, attributionControl: false, maxZoom: 19, scrollWheelZoom: false,
                          zoomSnap: 0.1 });
    if (window.GOVGRID_TILES) { L.tileLayer(window.GOVGRID_TILES, { maxZoom: 19 }).addTo(map); }
    var layers = [], legend = null;

    // Class breaks at the quantiles of the non-zero counts: a city whose busiest grid has ten times the
    // median still shows its middle grids apart.
    function breaks(values) {
      var sorted = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
      var n = ramp.length - 1, out = [];
      if (!sorted.length) { return [1]; }
      for (var i = 1; i <= n; i++) {
        var v = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * i / n) - 1)];
        if (!out.length || v > out[out.length - 1]) { out.push(v); }
      }
      return out;
    }
    function colour(value, stops) {
      if (!value) { return ramp[0]; }
      for (var i = 0; i < stops.length; i++) { if (value <= stops[i]) { return ramp[Math.round((i + 1) * (ramp.length - 1) / stops.length)]; } }
      return ramp[ramp.length - 1];
    }
    function load(first) {
      return fetch(el.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
        var cells = data.cells && data.cells.features.length ? data.cells : null;
        var filled = cells || data;
        var stops = breaks(filled.features.map(function (f) { return f.properties.reported || 0; }));
        layers.forEach(function (l) { map.removeLayer(l); });
        layers = [];
        if (cells) {
          layers.push(L.geoJSON(cells, {
            style: function (f) {
              return { color: isDark ? "rgba(5,15,30,.7)" : "#ffffff", weight: 0.6, fillColor: colour(f.properties.reported, stops),
                       fillOpacity: isDark ? 0.82 : 0.9 };
            },
            onEachFeature: function (f, l) { l.bindTooltip(f.properties.name + " · " + f.properties.reported, { sticky: true }); }
          }).addTo(map));
        }
        var labels = data.features.length <= 30;
        var outline = isDark ? "#8fd0ff" : "#1d2733";
        var areas = L.geoJSON(data, {
          style: function (f) {
            return cells ? { color: outline, weight: 2.2, fillOpacity: 0, opacity: 0.9 }
                         : { color: isDark ? "#8fd0ff" : "#ffffff", weight: 1.5, fillColor: colour(f.properties.reported, stops),
                             fillOpacity: isDark ? 0.8 : 0.88 };
          },
          onEachFeature: function (f, l) {
            var p = f.properties;
            l.bindTooltip("<b>" + p.name + "</b> " + p.reported, labels ? { permanent: true, direction: "center", className: "rp-map-label" }
                                                                          : { sticky: true });
            if (p.url) {
              l.on("click", function () { window.location.href = p.url; });
              l.on("mouseover", function () { l.setStyle({ weight: 4, color: "#1f5fbf" }); });
              l.on("mouseout", function () { areas.resetStyle(l); });
            }
          }
        }).addTo(map);
        layers.push(areas);
        // The box may have grown since the map was made (the cards beside it stretch the row).
        if (first && areas.getLayers().length) { map.invalidateSize(); map.fitBounds(areas.getBounds(), { padding: [6, 6] }); }
        if (legend) { map.removeControl(legend); }
        legend = L.control({ position: "bottomright" });
        legend.onAdd = function () {
          var div = L.DomUtil.create("div", "rp-map-legend"), html = '<span><i style="background:' + ramp[0] + '"></i>0</span>', low = 1;
          stops.forEach(function (stop, i) {
            html += '<span><i style="background:' + colour(stop, stops) + '"></i>' + (low === stop ? stop : low + "–" + stop) + "</span>";
            low = stop + 1;
          });
          div.innerHTML = html;
          return div;
        };
        legend.addTo(map);
        el.dataset.areas = String(data.features.length);
      }).catch(function (err) { console.error("report map: " + (err && err.stack || err)); });
    }
    load(true);
    return { map: map, refresh: function () { return load(false); } };
  }

  /* The wall clock in the project's time zone (the screen's computer may be set to anything). */
  function clock() {
    var time = document.querySelector("[data-clock]");
    if (!time) { return; }
    var format;
    try {
      format = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
                                                  timeZone: time.dataset.tz || undefined });
    } catch (e) {
      format = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    }
    function tick() { time.textContent = format.format(new Date()); }
    tick();
    setInterval(tick, 1000);
  }

  document.addEventListener("htmx:beforeSwap", function (e) { dispose(e.detail.target); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
  window.addEventListener("resize", resize);

  function start() {
    // The area picker reloads the dashboard for the chosen area, keeping the period.
    var top = document.getElementById("f-top");
    if (top) {
      top.addEventListener("change", function () {
        location.search = "area=" + encodeURIComponent(top.value) + (top.dataset.range ? "&range=" + encodeURIComponent(top.dataset.range) : "");
      });
    }
    draw(document);
    var map = choropleth(document.getElementById("report-map") || document.getElementById("screen-map"));
    if (map && document.body.classList.contains("screen")) { setInterval(map.refresh, 60000); }
    clock();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }

  window.GovGridReports = { draw: draw, choropleth: choropleth };
})();
