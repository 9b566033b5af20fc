// Shared by the review, upload and feed pages: relative times kept current ("in 5 minutes"),
// and sending a form with fetch so the page updates in place. Every request carries the form's
// CSRF token (in the body and as X-CSRFToken) and X-Requested-With, which tells the server to
// answer JSON instead of redirecting (server/web/replies.py). Without JavaScript the same forms
// post normally and the server redirects back.
(function () {
  "use strict";
  var UNITS = [["day", 86400], ["hour", 3600], ["minute", 60]];

  function relative(time) {
    var seconds = (time - Date.now()) / 1000;
    var ahead = seconds > 0;
    seconds = Math.abs(seconds);
    if (seconds < 45) return ahead ? "in a few seconds" : "just now";
    for (var i = 0; i < UNITS.length; i++) {
      var size = UNITS[i][1];
      if (seconds >= size * 0.95 || UNITS[i][0] === "minute") {
        var n = Math.max(1, Math.round(seconds / size));
        var text = n + " " + UNITS[i][0] + (n === 1 ? "" : "s");
        return ahead ? "in " + text : text + " ago";
      }
    }
    return "";
  }

  function refreshTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (el) {
      var time = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(time)) el.textContent = relative(time);
    });
  }

  function failure(status) {
    if (status === 400) return "The form was refused: its security token may have expired. Reload the page and try again.";
    if (status === 401) return "You were signed out. Reload the page and sign in again.";
    if (status === 413) return "The file is larger than the server accepts.";
    return "The server answered with an error (" + status + "). Try again.";
  }

  // POST the form; resolves to the server's JSON answer with `ok`, or {ok: false, error}
  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    return fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-Requested-With": "fetch", "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") || ""}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        body.ok = response.ok;
        if (!response.ok && !body.error) body.error = failure(response.status);
        return body;
      });
    }, function () {
      return {ok: false, error: "The server could not be reached. Check the connection and try again."};
    });
  }

  function showError(form, message) {
    var slot = form && form.querySelector("[data-form-error]");
    if (!slot) return;
    slot.textContent = message || "";
    slot.hidden = !message;
  }

  refreshTimes();
  setInterval(refreshTimes, 30000);
  window.ProcessCafe = {relative: relative, refreshTimes: refreshTimes, send: send, showError: showError,
                        failure: failure};
})();
