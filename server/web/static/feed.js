// The feed: new items arrive live over server-sent events (/feed/events, resuming after the newest
// item shown) and are inserted as the server renders them (/feed/items/<id>?partial=1); comments
// and likes are sent with fetch and the item's card is replaced by the fresh one.
(function () {
  "use strict";
  var pc = window.ProcessCafe;
  var list = document.querySelector(".feed-items");
  if (!list || !window.fetch || !pc) return;
  var note = document.getElementById("feed-live");

  function itemUrl(id) { return list.dataset.itemUrl.replace("ITEM", encodeURIComponent(id)); }

  function say(text) { if (note && text) note.textContent = text; }

  function cardFrom(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    pc.refreshTimes(holder);
    holder.querySelectorAll("form[data-feed-form]").forEach(function (form) { form.noValidate = true; });
    return holder.firstElementChild;
  }

  // messages appear next to the form instead of the browser's bubbles (new cards: see cardFrom)
  document.querySelectorAll("form[data-feed-form]").forEach(function (form) { form.noValidate = true; });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-feed-form")) return;
    event.preventDefault();
    var text = form.querySelector("input[name=text]");
    if (text && !text.value.trim()) { pc.showError(form, "Write a comment first."); text.focus(); return; }
    var article = form.closest(".feed-item");
    var focusId = document.activeElement && document.activeElement.id;
    var action = form.getAttribute("action");
    pc.send(form, event.submitter).then(function (answer) {
      if (!answer.ok) { pc.showError(form, answer.error); return; }
      if (!answer.html || !article) return;
      var fresh = cardFrom(answer.html);
      article.replaceWith(fresh);
      var again = (focusId && document.getElementById(focusId)) ||
        fresh.querySelector('form[action="' + action + '"] button') || fresh.querySelector("form[data-feed-form] button");
      if (again) again.focus();
      say(answer.message);
    });
  });

  var eventsUrl = list.dataset.eventsUrl;
  if (!eventsUrl || !window.EventSource) return;

  function newest() {  // resume after the newest item shown, so nothing in between is lost
    return Array.prototype.reduce.call(list.querySelectorAll(".feed-item"), function (top, card) {
      return Math.max(top, Number(card.dataset.itemId) || 0);
    }, 0);
  }

  function connect() {
    var source = new EventSource(eventsUrl + (eventsUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + newest());
    source.addEventListener("open", function () { list.dataset.live = "open"; });
    source.addEventListener("item", onItem);
    source.addEventListener("error", function () {
      list.dataset.live = "retrying";  // the browser reconnects by itself, unless the server refused (503, 429)
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 10000);
    });
  }

  function onItem(event) {
    var item;
    try { item = JSON.parse(event.data); } catch (e) { return; }
    if (document.getElementById("item-" + item.id)) return;
    fetch(itemUrl(item.id), {credentials: "same-origin", headers: {"Accept": "text/html", "X-Requested-With": "fetch"}})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (document.getElementById("item-" + item.id)) return;
        var li = document.createElement("li");
        li.appendChild(cardFrom(html));
        var later = Array.prototype.find.call(list.children, function (el) {
          var card = el.querySelector(".feed-item");
          return card && Number(card.dataset.itemId) < item.id;
        });
        list.insertBefore(li, later || null);
        var empty = document.getElementById("feed-empty");
        if (empty) empty.hidden = true;
        say("New: " + (item.text || item.kind) + " (" + item.stream + ")");
      })
      .catch(function () { /* the item is not readable (any more): skip it */ });
  }

  connect();
})();
