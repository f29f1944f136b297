// tracehub console: the overview live over Server-Sent Events (/console/stream).
// The server sends each tile and the incidents panel as HTML, in the page's language;
// this script only puts them in place. Without it the page refreshes itself (noscript).
(function () {
  "use strict";
  var root = document.querySelector("[data-stream]");
  if (!root || !window.EventSource) { return; }
  var live = document.getElementById("live");
  var announcements = document.getElementById("announcements");
  var source = new EventSource(root.getAttribute("data-stream"));

  function replace(id, html) {
    var old = document.getElementById(id);
    if (!old) { return; }
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.firstElementChild;
    if (fresh) { old.replaceWith(fresh); }
  }
  function state(on) {
    if (live) { live.textContent = live.getAttribute(on ? "data-on" : "data-off"); }
    root.setAttribute("data-live", on ? "on" : "off");
  }

  source.addEventListener("open", function () { state(true); });
  source.addEventListener("place", function (e) {
    var data = JSON.parse(e.data);
    replace(data.id, data.html);
  });
  source.addEventListener("incidents", function (e) {
    var data = JSON.parse(e.data);
    replace("active-incidents", data.html);
    data["new"].forEach(function (one) {
      if (!announcements) { return; }
      var holder = document.createElement("div");
      holder.innerHTML = one.html;
      if (holder.firstElementChild) {
        holder.firstElementChild.setAttribute("data-incident", one.id);
        announcements.prepend(holder.firstElementChild);
      }
    });
  });
  // The session ended (logged out, expired): the page itself now goes to the login form.
  source.addEventListener("end", function () { source.close(); window.location.reload(); });
  source.addEventListener("error", function () {
    state(false);
    // Refused (too many screens, no session): fall back to reloading now and then, as
    // the page itself (data-reload), which the server does not count as use.
    if (source.readyState === EventSource.CLOSED) {
      var again = root.getAttribute("data-reload") || window.location.href;
      window.setTimeout(function () { window.location.assign(again); }, 60000);
    }
  });
})();
