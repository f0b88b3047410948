// Keeps a gitopsd status page current: every few seconds it fetches the
// page again and swaps in the new content, so there is one rendering (the
// server's) and the page reads the same without JavaScript.
(function () {
  "use strict";
  var every = Number(document.body.dataset.refresh) || 2000;
  var live = document.getElementById("live");
  var text = live && live.querySelector(".live-text");
  var timer = null;
  var busy = false;

  function show(ok, words) {
    if (!live) return;
    live.hidden = false;
    live.classList.toggle("stale", !ok);
    text.textContent = words;
  }

  // A block the reader opened (an object's diff) stays open in the new
  // content.
  function keepOpen(content) {
    document.querySelectorAll("#content details[open][id]").forEach(function (d) {
      var same = content.querySelector("#" + CSS.escape(d.id));
      if (same) same.open = true;
    });
  }

  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(location.href, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (res) {
        return res.text().then(function (html) {
          var next = new DOMParser().parseFromString(html, "text/html");
          var content = next.getElementById("content");
          if (!content) throw new Error("HTTP " + res.status);
          keepOpen(content);
          document.getElementById("content").replaceChildren.apply(
            document.getElementById("content"), Array.from(content.childNodes));
          document.title = next.title;
          show(true, "Live");
        });
      })
      .catch(function () { show(false, "Daemon not answering; retrying"); })
      .finally(function () { busy = false; });
  }

  function start() {
    if (timer === null) timer = setInterval(refresh, every);
  }
  function stop() {
    clearInterval(timer);
    timer = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      stop();
    } else {
      refresh();
      start();
    }
  });
  show(true, "Live");
  start();
})();
