{% load static %}/* GovGrid's service worker for the grid worker's phone pages (scope /m/), served by
   govgrid.offline.service_worker. It keeps the last copy of each phone page and of the scripts and
   styles, so that a page opens with no network and the offline queue (static/js/offline.js) can take
   a report, a visit or a verification. Online it always asks the network first: a copy is shown only
   when the network fails, so no stale page is shown while the server answers. It sends nothing: the
   queue is sent by the pages. Version {{ version }}. */
"use strict";

var PAGES = "govgrid-pages-v{{ version }}";
var ASSETS = "govgrid-assets-v{{ version }}";
var PRECACHE = [
  "{% static 'css/govgrid.css' %}", "{% static 'css/parties.css' %}", "{% static 'js/govgrid.js' %}",
  "{% static 'js/offline.js' %}", "{% static 'js/report.js' %}", "{% static 'js/maps.js' %}",
  "{% static 'js/address.js' %}", "{% static 'js/parties.js' %}", "{% static 'vendor/htmx/htmx.min.js' %}",
  "{% static 'js/patrol.js' %}", "{% static 'css/patrols.css' %}",
  "{% static 'vendor/leaflet/leaflet.js' %}", "{% static 'vendor/leaflet/leaflet.css' %}"
];
var STATIC_PREFIX = "{% get_static_prefix %}";
var LOGIN_PATH = "/login/";
var PAGE_LIMIT = 60;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(ASSETS).then(function (cache) {
    // One by one: a file missing from one deployment must not stop the worker from installing.
    return Promise.all(PRECACHE.map(function (url) { return cache.add(url).then(null, function () { return null; }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(Promise.all([self.clients.claim(), caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== PAGES && name !== ASSETS; })
      .map(function (name) { return caches["delete"](name); }));
  })]));
});

function trim(cache) {
  return cache.keys().then(function (keys) {
    return Promise.all(keys.slice(0, Math.max(0, keys.length - PAGE_LIMIT)).map(function (key) {
      return cache["delete"](key);
    }));
  });
}

function page(request) {
  return fetch(request).then(function (response) {
    var url = new URL(response.url || request.url);
    if (url.pathname.indexOf(LOGIN_PATH) === 0) {
      // Logged out: the pages kept for the last user go with them.
      caches["delete"](PAGES);
    } else if (response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { return cache.put(request.url, copy).then(function () { return trim(cache); }); });
    }
    return response;
  }, function (error) {
    return caches.open(PAGES).then(function (cache) { return cache.match(request.url); }).then(function (kept) {
      if (kept) { return kept; }
      throw error;
    });
  });
}

function asset(request) {
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      caches.open(ASSETS).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }, function (error) {
    return caches.match(request, { ignoreSearch: true }).then(function (kept) {
      if (kept) { return kept; }
      throw error;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // the queue's POSTs go straight to the network
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname.indexOf("/m/") === 0) {
    event.respondWith(page(request));
  } else if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(asset(request));
  }
});
