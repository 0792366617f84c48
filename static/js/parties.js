/* People and places: the visit form's photo label (templates/parties/m_visit.html) and the building
   layer of the case map (templates/cases/map.html, data-buildings-url). Kept in a file: the Content
   Security Policy forbids inline script. */
(function () {
  "use strict";

  /* The visit form: say a photo was chosen (the file input itself is hidden behind the camera label). */
  var photo = document.getElementById("id_photo");
  var label = document.getElementById("photo-label");
  if (photo && label) {
    document.documentElement.classList.add("js-on");  // the camera label stands for the hidden input
    photo.addEventListener("change", function () {
      if (photo.files && photo.files.length) { label.textContent = label.dataset.chosen + ": " + photo.files[0].name; }
    });
  }

  /* The case map: buildings in scope as a layer the user can switch on (off at first). maps.js builds the
     map when the page is ready (govgrid.js); this wraps its overview to add the layer to that map. */
  if (!window.GovGridMaps || !window.L) { return; }
  var overview = window.GovGridMaps.overview;
  window.GovGridMaps.overview = function (el, gridsUrl, casesUrl) {
    var map = overview(el, gridsUrl, casesUrl);
    if (!map || !el.dataset.buildingsUrl) { return map; }
    var layer = L.layerGroup();
    fetch(el.dataset.buildingsUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      data.features.forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties;
        var m = L.circleMarker([c[1], c[0]], { radius: 4, color: "#5d6b7a", weight: 1, fillColor: "#fff", fillOpacity: 0.9 });
        var link = document.createElement("a");
        link.href = p.url;
        link.textContent = p.address;  // text, never markup: addresses are typed by people
        m.bindPopup(link);
        layer.addLayer(m);
      });
      // Off until asked for: a city's buildings are thousands of dots over the cases (the layer control).
      window.GovGridMaps.layers(map).addOverlay(layer, el.dataset.buildingsLabel || "Buildings");
      layer.on("add remove", function (e) { el.dataset.buildingsShown = e.type === "add" ? "1" : "0"; });
      el.dataset.buildings = String(data.features.length);
      el.dispatchEvent(new CustomEvent("govgrid:buildings"));
    }).catch(function (err) { console.error("buildings: " + (err && err.stack || err)); });
    return map;
  };
})();
