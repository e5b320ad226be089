// mlwright dashboard: the little scripting it needs (pages work without it).
// - a run's page polls its progress and updates trials, best score and time left; reloads when it ends
// - a select marked data-autosubmit submits its form on change
// - a link marked data-back goes back in history
(function () {
  "use strict";
  function text(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function fmt(v) { return (typeof v === "number") ? Number(v.toPrecision(5)).toString() : "—"; }
  function poll(box) {
    var url = box.getAttribute("data-progress");
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (p) {
      text("state", p.state);
      text("trials", p.trials || 0);
      if (p.best_score !== null && p.best_score !== undefined) { text("best", p.best_model + " · " + p.metric + " " + fmt(p.best_score)); }
      if (typeof p.time_left === "number") { text("left", Math.max(0, Math.round(p.time_left)) + " s"); }
      var bar = document.getElementById("bar");
      if (bar && typeof p.elapsed === "number" && p.budget) { bar.style.width = Math.min(100, 100 * p.elapsed / p.budget) + "%"; }
      if (p.state !== "running" && p.state !== "starting") { window.location.reload(); return; }
      setTimeout(function () { poll(box); }, 1000);
    }).catch(function () { setTimeout(function () { poll(box); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("job");
    if (box && (box.getAttribute("data-state") === "running" || box.getAttribute("data-state") === "starting")) { poll(box); }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { if (s.value) { s.form.submit(); } });
    });
    document.querySelectorAll("a[data-back]").forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); history.back(); });
    });
  });
})();
