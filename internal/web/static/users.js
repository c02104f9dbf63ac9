// User Management, enhanced. The page works without this file: the row
// checkboxes, the action select and its button post one plain form. With
// it, a page checkbox ticks every row, the bar counts the selection and
// offers to select every user matching the filter, and it shows only the
// fields the chosen action needs.
(function () {
  "use strict";

  var form = document.getElementById("bulk");
  if (!form) return;
  var page = document.getElementById("select-page");
  var rows = Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk"]'));
  var scope = document.getElementById("bulk-scope");
  var count = document.getElementById("selected-count");
  var banner = document.getElementById("select-banner");
  var action = document.getElementById("bulk-action");
  var apply = document.getElementById("bulk-apply");
  var params = Array.prototype.slice.call(form.querySelectorAll(".bulk-param"));
  var pageSize = Number(banner.getAttribute("data-page"));
  var total = banner.getAttribute("data-total");
  var more = banner.getAttribute("data-more") === "1";

  function fmt(n) {
    return Number(n).toLocaleString("en-US");
  }
  function users(n) {
    return n === 1 ? "user" : "users";
  }
  function ticked() {
    return rows.filter(function (r) { return r.checked; }).length;
  }

  // The banner's button, made once and reused.
  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function update() {
    var n = ticked();
    if (n < rows.length || n === 0) scope.value = "ids";
    if (page) {
      page.checked = n > 0 && n === rows.length;
      page.indeterminate = n > 0 && n < rows.length;
    }
    banner.textContent = "";
    if (scope.value === "filter") {
      count.textContent = "All " + total + " matching users selected";
      banner.append("All " + total + " users that match this filter are selected. ");
      banner.append(button("Select only the " + fmt(pageSize) + " on this page", function () {
        scope.value = "ids";
        update();
      }));
    } else {
      count.textContent = n === 0 ? "0 selected" : fmt(n) + " selected";
      if (n > 0 && n === rows.length && more) {
        banner.append("All " + fmt(n) + " " + users(n) + " on this page are selected. ");
        banner.append(button("Select all " + total + " users that match this filter", function () {
          scope.value = "filter";
          update();
          count.focus();
        }));
      }
    }
    form.classList.toggle("has-selection", n > 0);
    apply.disabled = n === 0 || action.value === "";
    var label = action.value ? action.options[action.selectedIndex].text : "Apply";
    apply.textContent = n === 0 ? "Apply to selected" : label + " (" + (scope.value === "filter" ? total : fmt(n)) + ")";
  }

  function showParams() {
    params.forEach(function (p) {
      var on = (" " + p.getAttribute("data-for") + " ").indexOf(" " + action.value + " ") >= 0;
      p.hidden = !on;
      p.querySelectorAll("select, input").forEach(function (c) {
        c.disabled = !on;
        c.required = on;
      });
    });
  }

  if (page) {
    page.hidden = false;
    page.addEventListener("change", function () {
      rows.forEach(function (r) { r.checked = page.checked; });
      scope.value = "ids";
      update();
    });
  }
  rows.forEach(function (r) {
    r.addEventListener("change", function () {
      if (!r.checked) scope.value = "ids";
      update();
    });
  });
  action.addEventListener("change", function () {
    showParams();
    update();
  });
  count.tabIndex = -1;
  form.classList.add("enhanced");
  showParams();
  update();
  // Back/forward cache: the browser restores the ticks, not our state.
  window.addEventListener("pageshow", update);
})();
