// Inline validation for task forms: the browser's own checks (from the HTML constraint
// attributes) are shown next to each field, in the same place as the server's messages,
// instead of as bubbles. Without JavaScript the browser and the server still check everything.
(function () {
  "use strict";
  function slotFor(el) { return el.id ? document.getElementById(el.id + "-error") : null; }

  function show(el, message) {
    var slot = slotFor(el);
    if (!slot) return;
    slot.textContent = message;
    slot.hidden = !message;
    if (message) el.setAttribute("aria-invalid", "true"); else el.removeAttribute("aria-invalid");
  }

  document.querySelectorAll("form[data-inline-validation]").forEach(function (form) {
    form.noValidate = true;
    form.addEventListener("submit", function (event) {
      var first = null;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.willValidate || !slotFor(el)) return;
        if (el.checkValidity()) {
          if (el.getAttribute("aria-invalid") === "true" && !el.dataset.serverError) show(el, "");
        } else {
          show(el, el.validationMessage);
          first = first || el;
        }
      });
      if (first) {
        event.preventDefault();
        first.focus();
      }
    });
    form.addEventListener("input", function (event) {
      var el = event.target;
      if (el.getAttribute && el.getAttribute("aria-invalid") === "true" && el.checkValidity()) {
        delete el.dataset.serverError;
        show(el, "");
      }
    });
    // a page that came back with server-side errors: mark them, and bring the summary into view
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid="true"]'), function (el) {
      el.dataset.serverError = "1";
    });
    var summary = document.getElementById("form-errors");
    if (summary) summary.focus();
  });
})();
