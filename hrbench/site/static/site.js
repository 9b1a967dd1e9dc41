// Sortable, filterable tables: DataTables (bundled with the site, see hrbench/site/assets.py)
// on every table.datatable.  The rows are already in the page (readable without scripts);
// `order: []` keeps the order the board ranked them in until a header is clicked.
"use strict";
(function () {
  const DataTable = window.hrbenchDataTables.default;
  document.querySelectorAll("table.datatable").forEach(function (table) {
    new DataTable(table, { paging: false, order: [], autoWidth: false });
  });
})();
