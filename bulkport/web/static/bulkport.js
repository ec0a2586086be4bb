// bulkport's page behaviour: a file dropped anywhere on the upload box goes to its file input.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
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
