// Operator screens: F2 opens the incoming-call screen, F3 the dispatch board (URLs on the nav's data attributes).
(function () {
  "use strict";
  var nav = document.querySelector("[data-nav-console]");
  if (!nav) { return; }
  document.addEventListener("keydown", function (e) {
    if (e.key === "F2") { e.preventDefault(); location.href = nav.dataset.navConsole; }
    if (e.key === "F3") { e.preventDefault(); location.href = nav.dataset.navBoard; }
  });
})();
