// Service-area check: "/" jumps to the area field from anywhere, as operators expect on a keyboard-first screen.
(function () {
  "use strict";
  var field = document.getElementById("region-q");
  var results = document.getElementById("region-results");
  if (!field || !results) { return; }
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
      event.preventDefault();
      field.focus();
    }
  });
  document.body.addEventListener("htmx:responseError", function () {
    var alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.textContent = results.dataset.errorText;
    results.replaceChildren(alert);
  });
})();
