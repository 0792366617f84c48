/* The grid worker's report form on a phone (templates/worker/report.html).

   Without this script the form is a plain multipart POST and still works. With it:
   - the category <select> becomes searchable chips (most used first);
   - the browser's location fills lon/lat and moves the pin; if refused, a message says to drag the
     pin or tap the map, which starts at the centre of the worker's grid;
   - the form is sent with fetch() + FormData, so a failed request on a weak network leaves the page
     as it was, chosen photos included, and the worker just taps again. The hidden client_uuid makes
     every resend of the same form answer with the case of the first one, never a second case;
   - the button is disabled while sending, so a double tap sends once.
   Where offline.js runs (the grid worker's pages), it sends the form instead, through its queue on
   the phone, and calls form.govgridQueue below.
   On the case page it only reports network failures of htmx forms (the verify form). */
(function () {
  "use strict";
  var CHIPS_SHOWN = 12;
  var TIMEOUT_MS = 120000;

  function alertBox(el, text) {
    if (!el) { return; }
    el.textContent = text;
    el.hidden = !text;
    if (text) { el.scrollIntoView({ block: "center", behavior: "smooth" }); }
  }

  /* htmx forms (verify on the case page): say so when the request never reached the server. */
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var box = document.getElementById("htmx-alert");
    if (!box && form) {
      box = document.createElement("div");
      box.id = "htmx-alert";
      box.className = "msg msg-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    var holder = form ? form.closest("[data-msg-network]") : null;
    alertBox(box, holder ? holder.dataset.msgNetwork : "网络不稳定，请重试");
  });

  var form = document.getElementById("report-form");
  if (!form) { return; }
  document.documentElement.classList.add("js-on");
  var msg = form.dataset;
  var alertEl = document.getElementById("report-alert");
  var submit = document.getElementById("report-submit");

  /* --- category: chips with a search box over the <select> --- */
  var select = form.elements.category;
  var pick = form.querySelector(".catpick");
  var search = document.getElementById("category-search");
  var chips = Array.prototype.slice.call(document.querySelectorAll("#category-chips button"));
  var more = document.getElementById("category-more");
  var none = document.getElementById("category-none");
  var showAll = false;

  function filterChips() {
    var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    chips.forEach(function (chip, index) {
      var hay = chip.dataset.search.toLowerCase();
      var match = words.every(function (w) { return hay.indexOf(w) !== -1; });
      var visible = match && (words.length || showAll || index < CHIPS_SHOWN || chip.getAttribute("aria-pressed") === "true");
      chip.hidden = !visible;
      if (visible) { shown += 1; }
    });
    none.hidden = shown > 0;
    more.hidden = showAll || words.length > 0 || chips.length <= CHIPS_SHOWN;
  }

  function choose(value) {
    select.value = value;
    chips.forEach(function (chip) { chip.setAttribute("aria-pressed", chip.dataset.value === value ? "true" : "false"); });
    clearError("category");
  }

  if (pick && chips.length) {
    pick.hidden = false;
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    chips.forEach(function (chip) {
      chip.addEventListener("click", function () { choose(chip.dataset.value); });
    });
    search.addEventListener("input", filterChips);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // Enter picks the first match instead of sending the form
        event.preventDefault();
        var first = chips.filter(function (chip) { return !chip.hidden; })[0];
        if (first) { choose(first.dataset.value); }
      }
    });
    more.addEventListener("click", function () { showAll = true; filterChips(); });
    filterChips();
  }

  /* --- photos: forms.js shows the thumbnails (data-preview-for); a choice clears the field's error --- */
  [form.elements.photos, form.elements.after_photos].forEach(function (input) {
    if (!input) { return; }
    input.addEventListener("change", function () {
      if (input.files && input.files.length) { clearError(input.name); }
    });
  });

  /* --- location: the browser's position, or the pin --- */
  var statusEl = document.getElementById("loc-status");
  var mapEl = document.getElementById("report-map");
  var lonInput = form.elements.lon, latInput = form.elements.lat;
  var again = document.getElementById("locate-again");
  var placedByHand = false;
  var picker = null;

  function locStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "locstatus" + (kind ? " locstatus-" + kind : "");
  }

  function placed() {
    placedByHand = true;
    locStatus(msg.msgPlaced, "ok");
    clearError("location");
  }

  if (mapEl && window.GovGridMaps && window.L) {
    var hadPoint = Boolean(lonInput.value && latInput.value);
    if (!hadPoint && mapEl.dataset.lon) {
      // Start at the centre of the worker's grid, but leave the point unset until GPS or a hand sets it.
      lonInput.value = mapEl.dataset.lon;
      latInput.value = mapEl.dataset.lat;
    }
    picker = GovGridMaps.picker(mapEl, mapEl.dataset.gridsUrl, lonInput, latInput);
    if (!hadPoint) {
      lonInput.value = "";
      latInput.value = "";
      picker.map.setZoom(15);  // wide enough to see the grid's edges while no point is set
    }
    picker.map.on("click", placed);
    picker.map.eachLayer(function (layer) {
      if (layer instanceof L.Marker) { layer.on("dragend", placed); }
    });
    if (hadPoint) { placedByHand = true; locStatus(msg.msgPlaced, "ok"); }
  }

  function locate() {
    if (!navigator.geolocation) { locStatus(msg.msgDenied, "warn"); return; }
    locStatus(msg.msgLocating, "");
    navigator.geolocation.getCurrentPosition(function (position) {
      if (placedByHand) { return; }  // the worker already put the pin where they want it
      var c = position.coords;
      if (picker) { picker.put(c.longitude, c.latitude); } else {
        lonInput.value = c.longitude.toFixed(6);
        latInput.value = c.latitude.toFixed(6);
      }
      locStatus(msg.msgLocated.replace("%(m)s", Math.round(c.accuracy || 0)), "ok");
      clearError("location");
      if (again) { again.hidden = false; }
    }, function () {
      if (!placedByHand) { locStatus(msg.msgDenied, "warn"); }
      if (again) { again.hidden = false; }
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }
  if (again) { again.addEventListener("click", function () { placedByHand = false; locate(); }); }
  if (!placedByHand) { locate(); }

  /* --- mode: normal / resolved on the spot / report only (the CSS shows what belongs to it) --- */
  function showMode() {
    var checked = form.querySelector("input[name=mode]:checked");
    form.dataset.mode = checked ? checked.value : "normal";
  }
  Array.prototype.forEach.call(form.elements.mode ? form.querySelectorAll("input[name=mode]") : [], function (radio) {
    radio.addEventListener("change", function () { showMode(); clearError("mode"); });
  });
  showMode();

  /* --- errors beside the fields --- */
  function section(name) {
    var list = form.querySelector('[data-error-for="' + name + '"]');
    return { list: list, box: list ? list.closest(".rf") : null };
  }

  function clearError(name) {
    var s = section(name);
    if (s.list) { s.list.textContent = ""; }
    if (s.box) { s.box.classList.remove("field-error"); }
  }

  function showErrors(errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (list) { clearError(list.dataset.errorFor); });
    var first = null;
    Object.keys(errors).forEach(function (name) {
      var s = section(name);
      if (!s.list) { return; }
      errors[name].forEach(function (text) {
        var li = document.createElement("li");
        li.textContent = text;
        s.list.appendChild(li);
      });
      if (s.box) { s.box.classList.add("field-error"); }
      first = first || s.box;
    });
    alertBox(alertEl, errors.form ? errors.form.join(" ") : msg.msgFix);
    if (first && !errors.form) { first.scrollIntoView({ block: "center", behavior: "smooth" }); }
  }

  /* --- sending: once at a time; on failure nothing is lost --- */
  var sending = false, sent = false;

  function busy(on) {
    sending = on;
    submit.disabled = on;
    form.classList.toggle("is-sending", on);
  }

  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) { return; }  // old browser: the plain form post
    event.preventDefault();
    if (sending || sent) { return; }
    busy(true);
    alertBox(alertEl, "");
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.redirected && /\/login\//.test(response.url)) { return { session: true }; }
      return response.json().then(function (body) { return { body: body }; }, function () { return {}; });
    }).then(function (answer) {
      clearTimeout(timer);
      if (answer.body && answer.body.ok && answer.body.url) {
        sent = true;
        window.location.assign(answer.body.url);
        return;
      }
      busy(false);
      if (answer.session) { alertBox(alertEl, msg.msgSession); }
      else if (answer.body && answer.body.errors) { showErrors(answer.body.errors); }
      else { alertBox(alertEl, msg.msgNetwork); }  // a proxy's error page, a 5xx: try again
    }, function () {
      clearTimeout(timer);
      busy(false);
      alertBox(alertEl, msg.msgNetwork);
    });
  });

  /* The offline queue (offline.js) sends this form when it is on the page, and calls these: the
     reasons of a refusal beside their fields, and a fresh form once a report was kept on the phone
     (the place stays: the next report is usually made on the same spot). */
  form.govgridQueue = {
    errors: showErrors,
    reset: function () {
      var kept = { lon: lonInput.value, lat: latInput.value };
      form.reset();
      lonInput.value = kept.lon;
      latInput.value = kept.lat;
      choose(select.value);
      ["photos-preview", "after-photos-preview"].forEach(function (id) {
        var box = document.getElementById(id);
        if (box) { box.textContent = ""; }
      });
      showMode();
      alertBox(alertEl, "");
    }
  };

  /* Back from the case page restores this page from the cache with the old client_uuid, which
     would answer a new report with the old case: load a fresh form instead. */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && sent) { window.location.reload(); }
  });
})();
