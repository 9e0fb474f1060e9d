// Incoming-call screen. Keyboard-first: Ctrl+Enter submits from anywhere in the form; Enter on the area field picks
// the first match; a lock-out is urgent by default.
(function () {
  "use strict";
  var form = document.getElementById("ticket-form");
  if (!form) { return; }
  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.requestSubmit(); }
    if (e.key === "Enter" && e.target.id === "area-search") {
      e.preventDefault();
      var first = document.querySelector("#area-options [data-code]");
      if (first) first.click();
    }
  });
  document.getElementById("area-options").addEventListener("click", function (e) {
    var option = e.target.closest("[data-code]");
    if (!option) return;
    document.getElementById("id_division").value = option.dataset.code;
    document.getElementById("area-search").value = option.dataset.path;
    this.innerHTML = "";
    document.getElementById("id_address_detail").focus();
  });
  document.getElementById("id_category").addEventListener("change", function () {
    if (this.value === "locked_out") document.getElementById("id_urgency").value = "urgent";
  });
})();
