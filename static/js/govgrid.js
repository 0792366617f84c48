/* GovGrid: what every page needs from script, kept out of the HTML so the Content Security Policy can
   forbid inline script (settings CONTENT_SECURITY_POLICY). Loaded in <head>, before the page's scripts. */
(function () {
  "use strict";
  // The tile server, if one is configured (settings MAP_TILE_URL), for maps.js and dashboard.js.
  var tiles = document.querySelector('meta[name="govgrid-tiles"]');
  window.GOVGRID_TILES = tiles ? tiles.content : "";

  function ready() {
    // <select data-autosubmit>: choosing is sending (the language switch).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // On a phone the tabs scroll in their own strip: bring the current one into it.
    var tab = document.querySelector(".mainnav [aria-current]");
    if (tab && tab.parentNode.scrollWidth > tab.parentNode.clientWidth) {
      tab.parentNode.scrollLeft = tab.offsetLeft - tab.parentNode.offsetLeft - 24;
    }
    // Maps declared in the markup: data-map="case" (one case and its grid) or "overview" (all cases).
    if (window.GovGridMaps) {
      document.querySelectorAll("[data-map]").forEach(function (el) {
        if (el.dataset.map === "case") {
          window.GovGridMaps.caseMap(el, el.dataset.gridsUrl);
        } else if (el.dataset.map === "overview") {
          window.GovGridMaps.overview(el, el.dataset.gridsUrl, el.dataset.casesUrl);
        }
      });
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
