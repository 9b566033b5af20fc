// Keeps the task list current without a reload: polls a small JSON endpoint every few seconds
// and, when the digest of what is shown changed, fetches the list again and swaps it in.
(function () {
  "use strict";
  var box = document.getElementById("task-results");
  if (!box || !window.fetch) return;
  var announcer = document.getElementById("task-announcer");
  var seconds = Number(box.dataset.pollSeconds) || 5;
  var busy = false;

  function digest() {
    var results = box.querySelector(".results");
    return results ? results.dataset.digest : "";
  }

  function showCounts(labels) {
    Object.keys(labels).forEach(function (section) {
      var badge = document.querySelector('[data-count="' + section + '"]');
      if (badge && badge.textContent !== labels[section]) {
        badge.textContent = labels[section];
        badge.setAttribute("aria-label", labels[section] + (labels[section] === "1" ? " entry" : " entries"));
      }
    });
  }

  function refresh() {
    var before = box.querySelectorAll("[data-task-id]").length;
    return fetch(box.dataset.partialUrl, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (box.contains(document.activeElement) && document.activeElement !== document.body) return;
        box.innerHTML = html;
        var after = box.querySelectorAll("[data-task-id]").length;
        if (announcer && after !== before) {
          announcer.textContent = after > before ? (after - before) + " new task(s) in the list." : "The list was updated.";
        }
      });
  }

  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(box.dataset.pollUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        showCounts(data.count_labels || {});
        if (data.digest && data.digest !== digest()) return refresh();
      })
      .catch(function () { /* offline or signed out: try again on the next tick */ })
      .then(function () { busy = false; });
  }

  setInterval(poll, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
