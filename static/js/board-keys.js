// Dispatch board: j / k move through the rows, Enter opens the ticket.
(function () {
  "use strict";
  var row = -1;
  document.addEventListener("keydown", function (e) {
    if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
    var rows = document.querySelectorAll("#board-table tbody tr[data-href]");
    if (!rows.length) return;
    if (e.key === "j" || e.key === "k") {
      row = Math.max(0, Math.min(rows.length - 1, row + (e.key === "j" ? 1 : -1)));
      rows.forEach(function (r, i) { r.classList.toggle("table-active", i === row); });
    }
    if (e.key === "Enter" && row >= 0 && rows[row]) location.href = rows[row].dataset.href;
  });
})();
