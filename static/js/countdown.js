// Live SLA countdowns: every element with data-due (ISO time) shows the time left, or how late, each second.
(function () {
  function format(ms) {
    const late = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const text = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
    return late ? "-" + text : text;
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      const left = Date.parse(el.dataset.due) - now;
      el.textContent = format(left);
      const warn = el.dataset.warnMs ? parseInt(el.dataset.warnMs, 10) : 600000;
      el.classList.toggle("text-danger", left < 0);
      el.classList.toggle("fw-bold", left < warn);
      el.classList.toggle("text-warning-emphasis", left >= 0 && left < warn);
    });
  }
  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSwap", tick);
})();
