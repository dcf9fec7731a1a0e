// Partners' toolkit: copy buttons, and a Mastodon server of one's own. Everything else on the
// page works without this script; the buttons and the form stay hidden until it runs.
(function () {
  "use strict";
  var copied = document.getElementById("copied");
  var said = copied ? copied.content.textContent : "Copied";

  function fallback(area) {
    area.focus();
    area.select();
    try { document.execCommand("copy"); } finally { area.setSelectionRange(0, 0); }
    return Promise.resolve();
  }

  document.querySelectorAll("button.copy").forEach(function (btn) {
    var area = document.getElementById(btn.getAttribute("data-copy"));
    if (!area) { return; }
    var label = btn.textContent;
    var status = document.createElement("span");
    status.className = "copied";
    status.setAttribute("role", "status");
    btn.insertAdjacentElement("afterend", status);
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var done = navigator.clipboard && navigator.clipboard.writeText
        ? navigator.clipboard.writeText(area.value).catch(function () { return fallback(area); })
        : fallback(area);
      done.then(function () {
        status.textContent = said;
        btn.setAttribute("data-copied", "1");
        setTimeout(function () { status.textContent = ""; btn.textContent = label; }, 4000);
      });
    });
  });

  document.querySelectorAll("form.mastodon-other").forEach(function (form) {
    var area = document.getElementById(form.getAttribute("data-text-from"));
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var host = form.elements.instance.value.trim().replace(/^https?:\/\//, "").replace(/\/.*$/, "");
      if (!host || !area) { return; }
      window.open("https://" + host + "/share?text=" + encodeURIComponent(area.value), "_blank", "noopener");
    });
  });
})();
