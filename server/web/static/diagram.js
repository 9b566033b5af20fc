// Draws the instance's diagram with bpmn-js (served from node_modules by the app) and marks
// where the instance is: current steps, the completed path, failed steps.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container) return;
  var note = document.getElementById("diagram-note");
  var markers = JSON.parse(document.getElementById("diagram-markers").textContent || "{}");

  function say(text) {
    if (note) { note.textContent = text; note.hidden = !text; }
  }

  function giveUp(text) {
    say(text);
    container.classList.add("diagram-empty");
    document.querySelectorAll(".diagram-tools, .legend").forEach(function (el) { el.hidden = true; });
    container.dataset.ready = "error";
  }

  if (!window.BpmnJS) {
    giveUp("The diagram viewer is not installed on this server (run scripts/dev setup, which needs npm).");
    return;
  }
  var viewer = new window.BpmnJS({container: container});

  function mark(canvas, registry) {
    var done = {}, current = {};
    (markers.done || []).forEach(function (id) { done[id] = true; });
    (markers.current || []).forEach(function (id) { current[id] = true; });
    Object.keys(done).forEach(function (id) { if (registry.get(id) && !current[id]) canvas.addMarker(id, "pc-done"); });
    Object.keys(current).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "pc-current"); });
    (markers.failed || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "pc-failed"); });
    // a flow is on the completed path when both its ends ran (or it leads to where we are now)
    registry.filter(function (el) { return el.waypoints && el.source && el.target; }).forEach(function (flow) {
      if (done[flow.source.id] && (done[flow.target.id] || current[flow.target.id])) canvas.addMarker(flow.id, "pc-done");
    });
  }

  fetch(container.dataset.xmlUrl, {credentials: "same-origin"})
    .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      say("");
      // as tall as the diagram needs at the width it gets (small diagrams leave no empty box)
      var inner = canvas.viewbox().inner;
      var scale = Math.min(1, (container.clientWidth - 40) / Math.max(inner.width, 1));
      container.style.height = Math.max(200, Math.min(480, Math.ceil(inner.height * scale) + 90)) + "px";
      canvas.resized();
      canvas.zoom("fit-viewport", "auto");
      mark(canvas, viewer.get("elementRegistry"));
      container.dataset.ready = "true";
      document.querySelectorAll("[data-zoom]").forEach(function (button) {
        button.addEventListener("click", function () {
          var how = button.dataset.zoom;
          if (how === "fit") canvas.zoom("fit-viewport", "auto");
          else canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8));
        });
      });
    })
    .catch(function (err) {
      var text = String(err && err.message || err);
      giveUp(/no diagram to display/i.test(text)
        ? "This diagram has no layout to draw (it was saved without BPMN diagram information)."
        : "The diagram could not be drawn: " + text);
    });
})();
