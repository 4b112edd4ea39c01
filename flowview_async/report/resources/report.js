"use strict";
(function () {
  // Sortable task-run table: each task (with its mapped children) is one <tbody>, sorted as a whole.
  var table = document.getElementById("task-runs");
  var buttons = table ? table.querySelectorAll("th button[data-key]") : [];
  function sortBy(button, order) {
    var key = button.getAttribute("data-key");
    var numeric = button.hasAttribute("data-numeric");
    buttons.forEach(function (other) { other.removeAttribute("data-order"); });
    button.setAttribute("data-order", order);
    var groups = Array.prototype.slice.call(table.tBodies);
    groups.sort(function (a, b) {
      var x = a.getAttribute("data-" + key) || "", y = b.getAttribute("data-" + key) || "";
      var result = numeric ? (parseFloat(x || "Infinity") - parseFloat(y || "Infinity"))
                           : x.localeCompare(y);
      if (isNaN(result)) { result = 0; }
      return order === "asc" ? result : -result;
    });
    groups.forEach(function (group) { table.appendChild(group); });
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      sortBy(button, button.getAttribute("data-order") === "asc" ? "desc" : "asc");
    });
  });

  // Logs: a minimum level and a text search, also read from and written to the URL's #fragment
  // (report.html#level=40&q=timeout), so a filtered view can be shared.
  var level = document.getElementById("log-level");
  var search = document.getElementById("log-search");
  var count = document.getElementById("log-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#logs tbody tr"));
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
  function apply(updateHash) {
    var minimum = parseInt(level.value, 10) || 0;
    var needle = search.value.toLowerCase();
    var shown = 0;
    rows.forEach(function (row, index) {
      var visible = parseInt(row.getAttribute("data-level"), 10) >= minimum &&
        (needle === "" || texts[index].indexOf(needle) !== -1);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " lines";
    if (updateHash) {
      var params = new URLSearchParams();
      if (minimum) { params.set("level", String(minimum)); }
      if (needle) { params.set("q", search.value); }
      history.replaceState(null, "", params.toString() ? "#" + params.toString()
        : window.location.pathname + window.location.search);
    }
  }
  if (level && search && count) {
    var initial = new URLSearchParams(window.location.hash.slice(1));
    if (initial.has("level")) { level.value = initial.get("level"); }
    if (initial.has("q")) { search.value = initial.get("q"); }
    level.addEventListener("change", function () { apply(true); });
    search.addEventListener("input", function () { apply(true); });
    apply(false);
  }
  // #sort=duration (ascending) or #sort=-duration (descending) sorts the task runs on opening.
  var sort = new URLSearchParams(window.location.hash.slice(1)).get("sort");
  if (sort) {
    buttons.forEach(function (button) {
      if (button.getAttribute("data-key") === sort.replace(/^-/, "")) {
        sortBy(button, sort.charAt(0) === "-" ? "desc" : "asc");
      }
    });
  }
  document.documentElement.setAttribute("data-ready", "1");
})();
