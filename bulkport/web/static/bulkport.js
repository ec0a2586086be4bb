// bulkport's page behaviour: a file dropped anywhere on the upload box goes to its file input,
// and Enter in a field marked data-enter-clicks presses that field's own button (Enter in the
// mapping's name must save it, not start the import, the form's first button). In the grid of
// failed rows, a row's re-check marks again which of its cells are at fault.
"use strict";
document.addEventListener("htmx:after:swap", function () {
  document.querySelectorAll(".fix-grid tr[data-row]").forEach(function (row) {
    var found = row.querySelector("[data-bad]");
    if (!found) return;
    var bad = JSON.parse(found.getAttribute("data-bad"));
    row.querySelectorAll("input[data-column]").forEach(function (input) {
      if (bad.indexOf(input.getAttribute("data-column")) >= 0) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  });
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-enter-clicks]").forEach(function (field) {
    field.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      var button = document.getElementById(field.getAttribute("data-enter-clicks"));
      if (!button) return;
      event.preventDefault();
      button.click();
    });
  });
  document.querySelectorAll("[data-drop-zone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input) return;
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
      }
    });
  });
});
