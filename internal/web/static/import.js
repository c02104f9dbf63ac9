// Bulk upload, enhanced. The upload page works without this file: the
// upload form is a plain file input. With it, a file can be dropped on the
// upload zone. (The progress page's poll is progress.js.)
(function () {
  "use strict";

  function size(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
    if (n >= 1 << 10) return Math.round(n / (1 << 10)) + " KiB";
    return n + " bytes";
  }

  // The upload page: drag and drop onto the zone around the file input.
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file");
  if (zone && input) {
    var hint = document.getElementById("drop-hint");
    var shown = document.getElementById("file-name");
    zone.classList.add("enhanced");
    if (hint) hint.hidden = false;

    var hasFiles = function (e) {
      return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") >= 0;
    };
    var show = function () {
      var f = input.files && input.files[0];
      if (!f) {
        // Nothing chosen (yet): leave the server's verdict on the last
        // file, if any, in place.
        input.setCustomValidity("");
        zone.classList.remove("chosen");
        shown.textContent = "";
        return;
      }
      var msg = "";
      var maxBytes = Number(zone.dataset.maxBytes) || 0;
      if (maxBytes && f.size > maxBytes) {
        msg = zone.dataset.tooLarge || "This file is too large.";
      }
      input.setCustomValidity(msg);
      // A new file replaces the one the server refused: its message goes.
      var stale = document.getElementById("file-error");
      if (stale) stale.hidden = true;
      zone.classList.toggle("invalid", msg !== "");
      zone.classList.toggle("chosen", msg === "");
      shown.textContent = f.name + " (" + size(f.size) + ")" + (msg ? ": " + msg : "");
    };
    var over = function (e) {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      zone.classList.add("dragging");
    };
    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", function (e) {
      if (!zone.contains(e.relatedTarget)) zone.classList.remove("dragging");
    });
    zone.addEventListener("drop", function (e) {
      zone.classList.remove("dragging");
      if (!hasFiles(e)) return;
      e.preventDefault();
      var files = e.dataTransfer.files;
      if (!files.length) return;
      // One file only: keep the first of several.
      var dt = new DataTransfer();
      dt.items.add(files[0]);
      input.files = dt.files;
      show();
      input.focus();
    });
    input.addEventListener("change", show);
    // A file dropped beside the zone would make the browser leave the page
    // to open it, losing what was typed.
    window.addEventListener("dragover", function (e) {
      if (hasFiles(e)) e.preventDefault();
    });
    window.addEventListener("drop", function (e) {
      if (hasFiles(e)) e.preventDefault();
    });
    show();

    var form = document.getElementById("import-form");
    var button = document.getElementById("preview-button");
    if (form && button) {
      var label = button.textContent;
      form.addEventListener("submit", function () {
        // The form is on its way; a large file takes a while to send and
        // check, so say so and prevent a second submission.
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = "Uploading and checking…";
        }, 0);
      });
      // Back from the next page (the browser may restore this one as it
      // was left): the button works again.
      window.addEventListener("pageshow", function () {
        button.disabled = false;
        button.textContent = label;
      });
    }
  }
})();
