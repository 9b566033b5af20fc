// The review page: the tally, voters, likes and comments stay current without a reload. Every
// few seconds it asks /reviews/<id>/live.json whether anything changed (by digest) and swaps in
// the new part; votes, comments and likes are sent with fetch and shown at once. Several people
// can have the page open: each sees the others' votes within one poll.
(function () {
  "use strict";
  var box = document.getElementById("review");
  var pc = window.ProcessCafe;
  if (!box || !window.fetch || !pc) return;
  var live = document.getElementById("review-live");
  var announcer = document.getElementById("review-announcer");
  var seconds = Number(box.dataset.pollSeconds) || 2.5;
  var busy = false;
  var lastTally = "";

  function state() { return live.querySelector(".review-live") || {dataset: {}}; }

  function announce(text) { if (announcer && text) announcer.textContent = text; }

  function tallyText(answer) {
    var counts = answer.counts || {};
    return Object.keys(counts).map(function (o) { return o + " " + counts[o]; }).join(", ");
  }

  function swap(answer) {
    if (!answer.html) return;
    var focused = live.contains(document.activeElement) ? document.activeElement.id : "";
    var before = state().dataset.status;
    live.innerHTML = answer.html;
    pc.refreshTimes(live);
    var again = focused && document.getElementById(focused);
    if (again && !again.disabled) again.focus();
    if (answer.status !== "open") {
      var comment = box.querySelector(".comment-form");
      if (comment) comment.hidden = true;
      if (before === "open") announce("The review is " + answer.status.replace("_", " ") + (answer.decision ? ": " + answer.decision : "") + ".");
    } else if (tallyText(answer) !== lastTally) {
      lastTally = tallyText(answer);
      announce("Votes: " + lastTally + ".");
    }
  }

  function poll() {
    var status = state().dataset.status;
    if (busy || document.hidden || (status && status !== "open")) return;  // an ended review changes no more
    busy = true;
    var url = box.dataset.liveUrl + "?digest=" + encodeURIComponent(state().dataset.digest || "") +
      "&page=" + encodeURIComponent(location.pathname);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json", "X-Requested-With": "fetch"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(swap)
      .catch(function () { /* offline or signed out: try again on the next tick */ })
      .then(function () { busy = false; });
  }

  // the page shows its own messages next to the form instead of the browser's bubbles
  box.querySelectorAll("form[data-review-form]").forEach(function (form) { form.noValidate = true; });

  box.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-review-form")) return;
    event.preventDefault();
    var text = form.querySelector("textarea");
    if (text && !text.value.trim()) {
      pc.showError(form, "Write a comment first.");
      text.focus();
      return;
    }
    var action = form.getAttribute("action");
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    pc.send(form, event.submitter).then(function (answer) {
      buttons.forEach(function (b) { b.removeAttribute("aria-busy"); });
      var current = box.querySelector('form[action="' + action + '"]') || form;
      if (!answer.ok) {
        pc.showError(current, answer.error);
        return;
      }
      pc.showError(current, "");
      if (text) text.value = "";
      swap(answer);
      announce(answer.message);
    });
  });

  setInterval(poll, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
