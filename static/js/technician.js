// The technician's phone pages: position sharing while on duty, the position with "arrived", pausing the live list
// while a decline reason is being chosen, a notice when the connection drops, and no double taps.
(function () {
  "use strict";
  const page = document.getElementById("tech-page");
  if (!page) return;
  const csrf = page.dataset.csrf;

  function locate(timeoutMs) {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(
        function (position) { resolve(position.coords); },
        function () { resolve(null); },
        { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 30000 }
      );
    });
  }

  // The live list refreshes every 10 s, but not while the technician is choosing or typing a decline reason.
  window.technicianCanRefresh = function () {
    const live = document.getElementById("live");
    if (!live || live.querySelector("details[open]")) return false;
    return !live.contains(document.activeElement) || document.activeElement.tagName !== "INPUT";
  };

  // The offers poll sends back the stamp of the lists it shows; while nothing changed the server answers 204 No
  // Content and htmx keeps the lists as they are (dispatch/live.py).
  document.body.addEventListener("htmx:configRequest", function (event) {
    const live = document.getElementById("live");
    if (!live || event.detail.elt !== live) return;
    const mark = live.querySelector("[data-live-stamp]");
    if (mark && mark.dataset.liveStamp) event.detail.headers["X-Live-Stamp"] = mark.dataset.liveStamp;
  });

  const banner = document.getElementById("offline-banner");
  if (banner) {
    const show = function () { banner.hidden = false; };
    document.body.addEventListener("htmx:sendError", show);
    document.body.addEventListener("htmx:responseError", show);
    // back online: any answer, a 204 "unchanged" included (it swaps nothing)
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) banner.hidden = true;
    });
  }

  // One tap, one request: buttons are disabled once the form is on its way (after the submitter's value is taken).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
      }, 0);
    });
  });

  // Back to a page from the browser's cache: its buttons must work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once] button, form[data-geolocate] button").forEach(function (button) {
      button.disabled = false;
    });
    document.querySelectorAll("form[data-located]").forEach(function (form) { delete form.dataset.located; });
  });

  // Forms that carry the phone's position (consent to share it; "arrived"): fill lat/lng first. "required" stops
  // and explains when the phone gives none; "optional" submits anyway, the step must never depend on GPS.
  document.querySelectorAll("form[data-geolocate]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.located) return;
      event.preventDefault();
      const buttons = form.querySelectorAll("button");
      buttons.forEach(function (button) { button.disabled = true; });
      locate(8000).then(function (coords) {
        const error = form.querySelector("[data-geolocate-error]");
        if (coords) {
          form.elements.lat.value = coords.latitude;
          form.elements.lng.value = coords.longitude;
        } else if (form.dataset.geolocate === "required") {
          if (error) error.hidden = false;
          buttons.forEach(function (button) { button.disabled = false; });
          return;
        }
        form.dataset.located = "1";
        form.submit();
      });
    }, true);
  });

  // While on duty and agreed, send the position about once a minute (the dispatcher ranks by distance).
  if (page.dataset.onDuty === "1" && page.dataset.consented === "1" && page.dataset.positionUrl) {
    const send = function () {
      locate(20000).then(function (coords) {
        if (!coords) return;
        fetch(page.dataset.positionUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf, Accept: "application/json" },
          body: new URLSearchParams({ lat: coords.latitude, lng: coords.longitude }),
        }).catch(function () { /* offline: the next minute tries again */ });
      });
    };
    send();
    setInterval(send, 60000);
  }
})();
