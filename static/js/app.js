// Behaviour every page shares, kept out of the templates so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";

  // <select data-autosubmit> (and checkboxes): changing it submits its form, as an inline onchange used to.
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) { field.form.submit(); }
  });

  // htmx requests that change something carry Django's CSRF token, read from the cookie (or a data-csrf attribute).
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var holder = document.querySelector("[data-csrf]");
    return holder ? holder.dataset.csrf : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") { event.detail.headers["X-CSRFToken"] = csrfToken(); }
  });

  // An htmx region with data-error-text shows that text in its [role=status] when its request fails.
  document.addEventListener("htmx:responseError", function (event) {
    var region = event.detail.elt && event.detail.elt.closest("[data-error-text]");
    var status = region && region.querySelector("[role=status]");
    if (status) { status.textContent = region.dataset.errorText; }
  });
})();
