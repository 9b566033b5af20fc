// The upload step: a preview of the chosen image before sending, a progress bar while it is sent
// (XMLHttpRequest, because fetch reports no upload progress), the server's refusal next to the
// input, and the stored thumbnail afterwards. Without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var pc = window.ProcessCafe;
  if (!form || !window.FormData || !pc) return;
  function $(id) { return document.getElementById(id); }
  var input = $("upload-file"), preview = $("upload-preview"), previewImg = $("upload-preview-img");
  var caption = $("upload-preview-caption"), progress = $("upload-progress"), bar = $("upload-bar");
  var percent = $("upload-percent"), error = $("upload-error"), done = $("upload-done"), send = $("upload-send");
  var maxBytes = Number(form.dataset.maxBytes) || 0;
  var objectUrl = null;
  form.noValidate = true;  // "choose an image first" appears next to the input, not as a bubble

  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function showError(message) {
    error.textContent = message || "";
    error.hidden = !message;
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }

  function tooLarge(file) {
    return maxBytes && file.size > maxBytes
      ? "The file is " + size(file.size) + "; the server accepts images up to " + size(maxBytes) + "." : "";
  }

  function setProgress(value) {
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
  }

  input.addEventListener("change", function () {
    showError("");
    done.hidden = true;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    var file = input.files[0];
    if (!file) { preview.hidden = true; return; }
    objectUrl = URL.createObjectURL(file);
    previewImg.src = objectUrl;
    caption.textContent = "Preview of " + file.name + " (" + size(file.size) + "): not sent yet.";
    preview.hidden = false;
    showError(tooLarge(file));
  });
  previewImg.addEventListener("error", function () {
    caption.textContent = "This file cannot be previewed here; the server checks it when you send it.";
  });

  function succeeded(answer) {
    setProgress(100);
    progress.hidden = true;
    preview.hidden = true;
    input.closest(".field").hidden = true;
    send.hidden = true;
    done.textContent = "";
    var message = document.createElement("p");
    message.textContent = answer.message;
    var link = document.createElement("a");
    link.href = answer.image_url;
    link.className = "thumb";
    var thumb = document.createElement("img");
    thumb.src = answer.thumbnail_url;
    thumb.alt = "The stored image (thumbnail; opens the full image)";
    thumb.id = "upload-thumbnail";
    link.appendChild(thumb);
    var next = document.createElement("p");
    var go = document.createElement("a");
    go.href = answer.next_url || answer.instance_url;
    go.textContent = answer.next_url ? "Go to your next task" : "Open the instance";
    next.appendChild(go);
    done.append(message, link, next);
    done.hidden = false;
  }

  function failed(message) {
    progress.hidden = true;
    send.disabled = false;
    input.disabled = false;
    showError(message);
    input.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = input.files[0];
    if (!file) { showError("Choose an image first."); input.focus(); return; }
    if (tooLarge(file)) { showError(tooLarge(file)); input.focus(); return; }
    var data = new FormData(form);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", data.get("csrf_token") || "");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) setProgress(Math.round(e.loaded / e.total * 100));
    });
    xhr.addEventListener("load", function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (e) { /* an HTML error page */ }
      if (xhr.status === 201 && answer.media_id) succeeded(answer);
      else failed(answer.error || pc.failure(xhr.status));
    });
    xhr.addEventListener("error", function () {
      failed("The upload was interrupted. Check the connection and send the image again.");
    });
    showError("");
    setProgress(0);
    progress.hidden = false;
    send.disabled = true;
    input.disabled = true;
    xhr.send(data);
  });
})();
