// Progress of background work (an import, a bulk action), enhanced: without this file
// the page refreshes itself (a <noscript> meta refresh). With it, the page
// polls the element's data-progress-url, writes each figure into the
// elements whose data-field names it (a path: "counts.created"), moves the <progress> (its data-value
// and data-max name the figures), and reloads once the state is no longer
// data-running, to show the result.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || !window.fetch) return;
  var fmt = function (n) {
    return Number(n).toLocaleString("en-US");
  };
  var get = function (s, path) {
    return path.split(".").reduce(function (v, k) {
      return v == null ? undefined : v[k];
    }, s);
  };
  var update = function (s) {
    box.querySelectorAll("[data-field]").forEach(function (e) {
      var v = get(s, e.dataset.field);
      if (v !== undefined) e.textContent = fmt(v);
    });
    box.querySelectorAll("progress[data-value]").forEach(function (bar) {
      var max = get(s, bar.dataset.max) || 0, value = get(s, bar.dataset.value) || 0;
      bar.max = Math.max(max, 1);
      bar.value = value;
      bar.textContent = (max ? Math.floor(value * 100 / max) : 0) + "%";
    });
    return s.state === box.dataset.running;
  };
  var tick = function () {
    fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status >= 500) throw new Error("status " + r.status);
        if (!r.ok || r.redirected) return null; // signed out, or gone: let the page say so
        return r.json();
      })
      .then(function (s) {
        if (s && update(s)) {
          window.setTimeout(tick, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        // A network hiccup or a restarting server: try again, slower.
        window.setTimeout(tick, 5000);
      });
  };
  window.setTimeout(tick, 1000);
})();
