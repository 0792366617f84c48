/* The sweep task form's field builder (templates/sweeps/new.html): add and remove field rows, and
   show a row's options box only for a choice. Without this script the form still works with the
   rows the server rendered (rows without a name are left out). */
(function () {
  "use strict";
  var builder = document.getElementById("field-builder");
  if (!builder) { return; }
  var list = builder.querySelector(".builder-rows");
  var max = parseInt(builder.dataset.max, 10) || 30;

  function rows() { return list.querySelectorAll("[data-row]"); }

  function syncOptions(row) {
    var kind = row.querySelector("[data-kind]");
    var options = row.querySelector(".options");
    if (kind && options) { options.hidden = kind.value !== "choice"; }
  }

  function nextNumber() {
    var highest = 0;
    Array.prototype.forEach.call(list.querySelectorAll("input[name^='field_label_']"), function (input) {
      highest = Math.max(highest, parseInt(input.name.replace("field_label_", ""), 10) || 0);
    });
    return highest + 1;
  }

  function renumber(row, n) {
    Array.prototype.forEach.call(row.querySelectorAll("[name]"), function (el) {
      el.name = el.name.replace(/_\d+$/, "_" + n);
    });
  }

  document.getElementById("builder-add").addEventListener("click", function () {
    if (rows().length >= max) { return; }
    var template = rows()[0];
    var row = template.cloneNode(true);
    renumber(row, nextNumber());
    Array.prototype.forEach.call(row.querySelectorAll("input[type=text], textarea"), function (el) { el.value = ""; });
    Array.prototype.forEach.call(row.querySelectorAll("input[type=checkbox]"), function (el) { el.checked = false; });
    var kind = row.querySelector("[data-kind]");
    if (kind) { kind.selectedIndex = 0; }
    list.appendChild(row);
    syncOptions(row);
    row.querySelector("input[type=text]").focus();
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-remove]") : null;
    if (!button) { return; }
    var row = button.closest("[data-row]");
    if (rows().length > 1) {
      row.parentNode.removeChild(row);
    } else {
      Array.prototype.forEach.call(row.querySelectorAll("input[type=text], textarea"), function (el) { el.value = ""; });
    }
  });

  list.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-kind]")) { syncOptions(event.target.closest("[data-row]")); }
  });
  Array.prototype.forEach.call(rows(), syncOptions);
}());
