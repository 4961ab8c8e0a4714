"""Static files the generated pages use, written into the docs folder at each build (no CDN, no third party).

`TABLESORT_TEXT` sorts tables when a header is clicked, the way mkdocs-material's documented table sorting
does (its `document$` observable re-runs it after instant navigation); written here so the site loads
nothing from another host. Numbers sort as numbers (a leading "★ " best mark and units are ignored), the
rest as text; a second click reverses the order.
"""

from __future__ import annotations

TABLESORT_TEXT = r"""// Sortable tables for the pages sabbatical generates: click a column header to sort by it.
(function () {
  function key(cell) {
    var text = (cell.getAttribute("data-sort") || cell.textContent || "").trim();
    var number = parseFloat(text.replace(/^[^0-9+\-.]+/, ""));
    return isNaN(number) ? { text: text.toLowerCase() } : { number: number };
  }
  function compare(a, b) {
    if (a.number !== undefined && b.number !== undefined) return a.number - b.number;
    if (a.number !== undefined) return -1;
    if (b.number !== undefined) return 1;
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    if (!body) return;
    var descending = header.getAttribute("aria-sort") === "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (x, y) {
      var order = compare(key(x.cells[column] || x), key(y.cells[column] || y));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  function sortable(table) {
    if (!table.tHead || table.getAttribute("data-sortable") === "1") return;
    table.setAttribute("data-sortable", "1");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.style.cursor = "pointer";
      header.title = "Sort by this column";
      header.addEventListener("click", function () { sortBy(table, column, header); });
    });
  }
  function all() { document.querySelectorAll("article table").forEach(sortable); }
  if (typeof document$ !== "undefined") { document$.subscribe(all); }
  else { document.addEventListener("DOMContentLoaded", all); }
})();
"""
