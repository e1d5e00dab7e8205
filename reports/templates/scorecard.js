/* Sorting and filtering of the scorecard tables, without a server.
   Cells carry their exact value in data-sort; an empty value sorts last in both
   directions. Nothing here writes markup: rows are only reordered and hidden. */
(function () {
  "use strict";

  function sortValue(cell, numeric) {
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    if (numeric) {
      var number = Number(raw);
      return isNaN(number) ? null : number;
    }
    return raw.toLocaleLowerCase();
  }

  function compare(a, b, ascending) {
    if (a === null && b === null) { return 0; }
    if (a === null) { return 1; }
    if (b === null) { return -1; }
    var order = a < b ? -1 : (a > b ? 1 : 0);
    return ascending ? order : -order;
  }

  function sortTable(table, header) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(header);
    var numeric = header.getAttribute("data-numeric") === "true";
    var current = header.getAttribute("aria-sort");
    var ascending = current ? current !== "ascending"
                            : header.getAttribute("data-direction") === "asc";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, position) { row.setAttribute("data-position", position); });
    rows.sort(function (left, right) {
      var result = compare(sortValue(left.cells[index], numeric),
                           sortValue(right.cells[index], numeric), ascending);
      return result || (left.getAttribute("data-position") - right.getAttribute("data-position"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  var tables = Array.prototype.slice.call(document.querySelectorAll("table.sortable"));
  tables.forEach(function (table) {
    Array.prototype.slice.call(table.tHead.rows[0].cells).forEach(function (header) {
      var button = header.querySelector("button");
      if (button) {
        button.addEventListener("click", function () { sortTable(table, header); });
      }
    });
  });

  var text = document.getElementById("filter-text");
  var outside = document.getElementById("filter-outside");
  var flagged = document.getElementById("filter-flags");
  var counter = document.getElementById("filter-count");

  function applyFilter() {
    var needle = text ? text.value.trim().toLocaleLowerCase() : "";
    var shown = 0;
    var total = 0;
    tables.forEach(function (table) {
      Array.prototype.slice.call(table.tBodies[0].rows).forEach(function (row) {
        var name = (row.getAttribute("data-name") || "").toLocaleLowerCase();
        var visible = (!needle || name.indexOf(needle) !== -1) &&
          (!outside || !outside.checked || row.getAttribute("data-outside") === "true") &&
          (!flagged || !flagged.checked || Number(row.getAttribute("data-flags")) > 0);
        row.hidden = !visible;
        total += 1;
        if (visible) { shown += 1; }
      });
    });
    if (counter) {
      counter.textContent = (counter.getAttribute("data-template") || "{shown} / {total}")
        .replace("{shown}", String(shown)).replace("{total}", String(total));
    }
  }

  [text, outside, flagged].forEach(function (control) {
    if (control) {
      control.addEventListener("input", applyFilter);
      control.addEventListener("change", applyFilter);
    }
  });
  applyFilter();
}());
