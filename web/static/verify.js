// tracehub: re-check the lot's Merkle inclusion proofs in the browser, with no
// library and no server call. For each embedded item: RFC 8785 canonical JSON of the
// signed ledger entry -> leaf = SHA-256(0x00 || entry) (RFC 6962), compared with the
// leaf named; then the audit path up to the root (nodes SHA-256(0x01 || left || right),
// RFC 9162 section 2.1.3.2), which must be one of the anchored roots shown on the page.
// WebCrypto's crypto.subtle exists only in secure contexts (https, or http on
// localhost/127.0.0.1); elsewhere the page says the check could not run.
"use strict";
(function () {
  var status = document.getElementById("proof-status");
  var data = document.getElementById("proof-data");
  if (!status || !data) return;

  function say(state, template, values) {
    var text = template;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    status.textContent = text;
    status.setAttribute("data-state", state);
    status.className = state === "ok" ? "ok" : (state === "fail" ? "bad" : "muted");
  }
  if (!window.crypto || !window.crypto.subtle || !window.TextEncoder) {
    say("unsupported", status.getAttribute("data-unsupported"));
    return;
  }

  // RFC 8785: ECMAScript number and string serialisation, keys sorted by UTF-16 units.
  function jcs(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
    return "{" + Object.keys(value).sort().map(function (k) {
      return JSON.stringify(k) + ":" + jcs(value[k]);
    }).join(",") + "}";
  }
  function hex(bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function unhex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function sha256(prefix, parts) {
    var size = 1 + parts.reduce(function (n, p) { return n + p.length; }, 0);
    var buf = new Uint8Array(size);
    buf[0] = prefix;
    var at = 1;
    parts.forEach(function (p) { buf.set(p, at); at += p.length; });
    return crypto.subtle.digest("SHA-256", buf).then(function (d) { return new Uint8Array(d); });
  }
  function leafOf(item) {
    if (!item.entry) return Promise.resolve(unhex(item.leaf));
    var bytes = new TextEncoder().encode(jcs(item.entry));
    return sha256(0, [bytes]).then(function (leaf) {
      if (hex(leaf) !== item.leaf) throw new Error("leaf");
      return leaf;
    });
  }
  function rootOf(item, leaf) {
    var fn = item.index, sn = item.size - 1, r = Promise.resolve(leaf);
    item.proof.forEach(function (p) {
      r = r.then(function (node) {
        if (sn === 0) throw new Error("path too long");
        var sibling = unhex(p), next;
        if ((fn & 1) === 1 || fn === sn) {
          next = sha256(1, [sibling, node]);
          if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
        } else {
          next = sha256(1, [node, sibling]);
        }
        fn >>= 1; sn >>= 1;
        return next;
      });
    });
    return r.then(function (root) {
      if (sn !== 0) throw new Error("path too short");
      return hex(root);
    });
  }

  var payload = JSON.parse(data.textContent);
  var shown = {};
  Array.prototype.forEach.call(document.querySelectorAll(".root-hex"), function (el) {
    shown[el.textContent.trim()] = true;
  });
  var checks = payload.items.map(function (item, i) {
    return leafOf(item).then(function (leaf) { return rootOf(item, leaf); }).then(function (root) {
      if (root !== item.root || !shown[root]) throw new Error("root");
      return true;
    }).catch(function () { throw { index: i + 1 }; });
  });
  Promise.all(checks).then(function () {
    say("ok", status.getAttribute("data-ok"), { n: String(payload.items.length) });
  }, function (failure) {
    say("fail", status.getAttribute("data-fail"), { index: String(failure.index || "?") });
  });
})();
