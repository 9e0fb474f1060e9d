// The public request form: choosing a served area from the type-ahead, and the appointment fields.
(function () {
  "use strict";
  var results = document.getElementById("area-results");
  var chosen = document.getElementById("area-chosen");
  var search = document.getElementById("area-q");
  if (!results || !chosen || !search) { return; }
  var code = document.getElementById(search.dataset.codeField);
  // A tap on a result fills the hidden division code and shows the full path, with a warning if it is not served.
  results.addEventListener("click", function (event) {
    var option = event.target.closest(".area-option");
    if (!option) { return; }
    code.value = option.dataset.code;
    var served = option.dataset.served === "1";
    chosen.classList.remove("d-none");
    chosen.querySelectorAll("[data-state]").forEach(function (box) {
      box.classList.toggle("d-none", (box.dataset.state === "served") !== served);
      box.querySelector("[data-role=path]").textContent = option.dataset.path;
    });
    results.innerHTML = "";
    search.value = option.dataset.path;
  });
  // Typing a new name drops the earlier choice: the code must always match the path the customer sees.
  search.addEventListener("input", function () {
    code.value = "";
    chosen.classList.add("d-none");
  });
  // A 429 from the type-ahead carries a message: show it rather than dropping it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 429) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  document.body.addEventListener("htmx:sendError", function () {
    var alert = document.createElement("div");
    alert.className = "alert alert-danger mb-0";
    alert.textContent = results.dataset.errorText;
    results.replaceChildren(alert);
  });
  // The date and time fields matter only for a chosen time; without JavaScript they simply stay visible.
  var appointment = document.getElementById("appointment-fields");
  function showAppointment() {
    var picked = document.querySelector(".timing-choice:checked");
    appointment.classList.toggle("d-none", !picked || picked.value !== "scheduled");
  }
  document.querySelectorAll(".timing-choice").forEach(function (radio) { radio.addEventListener("change", showAppointment); });
  showAppointment();
})();
