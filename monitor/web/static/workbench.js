// The workbench's only script (served from /static; no inline script is allowed).
// Sorts tables by their cells' data-sort values, filters them by search text, low volume
// and a minimum of notices, and shows the custom-date fields of the period picker when
// "Custom dates" is chosen. Text is only ever read from the page, never written as HTML.
"use strict";

function sortValue(cell, type) {
  const raw = cell.getAttribute("data-sort");
  if (type === "number") {
    if (raw === null || raw === "") return null;
    const value = Number(raw);
    return Number.isNaN(value) ? null : value;
  }
  return (raw !== null ? raw : cell.textContent).toLowerCase();
}

function sortTable(table, index, type, descending) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = sortValue(a.cells[index], type);
    const y = sortValue(b.cells[index], type);
    if (x === null && y === null) return 0;
    if (x === null) return 1; // missing values last, whatever the direction
    if (y === null) return -1;
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  rows.forEach((row) => body.appendChild(row));
}

function makeSortable(table) {
  const headers = table.tHead ? table.tHead.rows[0].cells : [];
  Array.from(headers).forEach((th, index) => {
    const type = th.getAttribute("data-type") || "text";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", () => {
      const descending = th.getAttribute("aria-sort") === "ascending";
      Array.from(headers).forEach((other) => other.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      sortTable(table, index, type, descending);
    });
  });
}

function applyFilters(table) {
  const search = document.getElementById("table-search");
  const hideLow = document.getElementById("hide-low");
  const minimum = document.getElementById("min-notices");
  const words = search ? search.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
  const least = minimum ? Number(minimum.value) || 0 : 0;
  let shown = 0;
  const rows = Array.from(table.tBodies[0].rows);
  rows.forEach((row) => {
    const text = row.getAttribute("data-search") || row.textContent.toLowerCase();
    let visible = words.every((word) => text.includes(word));
    if (hideLow && hideLow.checked && row.getAttribute("data-low") === "1") visible = false;
    if (least && Number(row.getAttribute("data-notices") || 0) < least) visible = false;
    row.hidden = !visible;
    if (visible) shown += 1;
  });
  const counter = document.getElementById("shown-count");
  if (counter) counter.textContent = shown + " of " + rows.length + " shown";
}

function setUpFilters() {
  ["table-search", "hide-low", "min-notices"].forEach((id) => {
    const control = document.getElementById(id);
    if (!control) return;
    const table = document.getElementById(control.getAttribute("data-table"));
    if (!table) return;
    control.addEventListener("input", () => applyFilters(table));
    control.addEventListener("change", () => applyFilters(table));
    applyFilters(table);
  });
}

function setUpPicker() {
  const select = document.getElementById("period-select");
  const dates = document.getElementById("custom-dates");
  if (!select || !dates) return;
  const update = () => { dates.hidden = select.value !== "custom"; };
  select.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  setUpFilters();
  setUpPicker();
  document.documentElement.setAttribute("data-script", "ready");
});
