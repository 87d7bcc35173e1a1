/* 红线 Hongxian: small progressive enhancements. Every action also works without script. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');

  // Copy a citation. The Clipboard API exists only in a secure context (HTTPS, localhost): a
  // site served over plain HTTP at a network address falls back to selecting the text and
  // execCommand("copy"); if that fails too the text stays selected and the page says so.
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function fallbackCopy(node) {
    selectText(node);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    return copied;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) { return; }
      var box = button.closest("section") || document;
      var status = box.querySelector(".copy-status");
      function say(ok) {
        if (ok) { window.getSelection().removeAllRanges(); } else { selectText(target); }
        var text = ok ? "已复制" : "请手动复制：引用已选中，按 Ctrl+C（Mac 上按 ⌘C）";
        if (status) { status.textContent = text; status.className = "copy-status " + (ok ? "ok" : "manual"); }
        var label = button.getAttribute("data-label") || button.textContent;
        button.setAttribute("data-label", label);
        button.textContent = ok ? "已复制" : "请手动复制";
        setTimeout(function () { button.textContent = label; }, 2500);
      }
      var text = target.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { say(true); },
          function () { say(fallbackCopy(target)); });
      } else {
        say(fallbackCopy(target));
      }
    });
  });

  // Ask before destructive actions.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Print button on the handout.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // "New pearl string" title field only when "new" is chosen.
  document.querySelectorAll("select[data-new-title]").forEach(function (select) {
    var field = select.form.querySelector(".new-title");
    function sync() { if (field) { field.hidden = select.value !== "new"; } }
    select.addEventListener("change", sync);
    sync();
  });

  // Drag and drop reordering of pearls; the up/down buttons remain the keyboard way. The request
  // names the version of the string the page shows: if someone else changed the string since,
  // the server refuses (409) and the page shows the string as it is now.
  var list = document.querySelector("ol.pearl-editor[data-reorder-url]");
  if (!list) { return; }
  var dragged = null;
  var before = [];
  function unsavedText() {
    return Array.prototype.some.call(document.querySelectorAll("form textarea[name], form input[name]"), function (field) {
      return field.type !== "hidden" && field.value !== field.defaultValue;
    });
  }
  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest("li[data-pearl-id]");
    if (!dragged) { return; }
    before = Array.prototype.slice.call(list.children);
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-pearl-id"));
  });
  list.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    var over = event.target.closest("li[data-pearl-id]");
    if (!over || over === dragged) { return; }
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("drop", function (event) { event.preventDefault(); });
  list.addEventListener("dragend", function () {
    if (!dragged) { return; }
    dragged.classList.remove("dragging");
    dragged = null;
    var order = Array.prototype.map.call(list.querySelectorAll("li[data-pearl-id]"), function (li) {
      return parseInt(li.getAttribute("data-pearl-id"), 10);
    });
    var body = {order: order};
    var version = parseInt(list.getAttribute("data-version"), 10);
    if (!isNaN(version)) { body.version = version; }
    fetch(list.getAttribute("data-reorder-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : ""},
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 409) {
        return response.json().catch(function () { return {}; }).then(function (error) {
          var message = error.message || "这串珍珠已被别人修改过，新顺序没有保存。";
          before.forEach(function (li) { list.appendChild(li); });  // back to the order shown before
          if (unsavedText()) {
            window.alert(message + "\n本页还有您未保存的文字，所以没有刷新：请先保存或复制它们，再刷新页面查看别人的修改。");
          } else {
            window.alert(message + "\n页面将刷新，显示现在的内容。");
            window.location.reload();
          }
        });
      }
      if (!response.ok) { throw new Error(response.status); }
      // Reload so that numbers and the up/down buttons match the saved order.
      window.location.reload();
    }).catch(function () {
      window.alert("没能保存新顺序，请刷新页面后重试。");
    });
  });
})();
