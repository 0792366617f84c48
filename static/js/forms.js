/* Action forms on every page (also the ones htmx swaps in):
   - photos: the camera button stands for the hidden file input; thumbnails of what was chosen;
   - dispatch: the lead department chosen is not offered among the assisting ones (the server refuses
     it too), and a long list of assisting departments gets a search box. */
(function () {
  "use strict";
  document.documentElement.classList.add("js-on");

  // The messages come in the page's language on the script tag (data-msg-*).
  var script = document.currentScript;
  function text(name, fallback) { return (script && script.getAttribute("data-msg-" + name)) || fallback; }

  /* --- filters: folded behind their button on a phone, open on a wider screen --- */
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.matchMedia("(min-width: 721px)").matches) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details[data-wide-open]"), function (box) {
      box.open = true;
    });
  });

  /* --- photos --- */
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file].file-input") || !input.id) { return; }
    var box = document.querySelector('[data-preview-for="' + input.id + '"]');
    if (!box) { return; }
    box.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var img = document.createElement("img");
      img.alt = file.name;
      if (window.URL && URL.createObjectURL) { img.src = URL.createObjectURL(file); }
      box.appendChild(img);
    });
    if (input.files && input.files.length) {
      var note = document.createElement("span");
      note.className = "muted small";
      note.textContent = text("photos", "%(n)s").replace("%(n)s", input.files.length);
      box.appendChild(note);
    }
  });

  /* --- dispatch: assisting departments --- */
  function update(list) {
    var form = list.closest("form");
    var lead = form && form.querySelector('select[name$="lead"]');
    var search = list.previousElementSibling && list.previousElementSibling.classList.contains("assist-search")
      ? list.previousElementSibling.value.trim().toLowerCase() : "";
    list.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      var row = box.closest("div");
      var isLead = !!lead && box.value === lead.value;
      if (isLead) { box.checked = false; }
      box.disabled = isLead;
      var match = !search || box.checked || row.textContent.toLowerCase().indexOf(search) >= 0;
      row.hidden = isLead || !match;
    });
  }

  function setUp(root) {
    root.querySelectorAll("div.assist-list").forEach(function (list) {
      if (list.dataset.ready) { return; }
      list.dataset.ready = "1";
      if (list.querySelectorAll("input[type=checkbox]").length > 8) {
        var search = document.createElement("input");
        search.type = "search";
        search.className = "assist-search";
        search.placeholder = text("assist-search", "Search departments");
        search.setAttribute("aria-label", search.placeholder);
        search.addEventListener("input", function () { update(list); });
        list.parentNode.insertBefore(search, list);
      }
      var form = list.closest("form");
      var lead = form && form.querySelector('select[name$="lead"]');
      if (lead) { lead.addEventListener("change", function () { update(list); }); }
      update(list);
    });
  }

  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else { setUp(document); }
})();
