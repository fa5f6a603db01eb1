// Reference authenticator: RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) computed with WebCrypto,
// shown plainly or hidden in a 5x5 bingo grid at the user's bingo cells. Offline: it talks to
// no server. WebCrypto needs a secure context (https, or http on localhost/127.0.0.1).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var KEY = "passlogic-authenticator";

  function base32(text) {
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    var clean = text.toUpperCase().replace(/[\s=]/g, "");
    var bits = 0, value = 0, out = [];
    for (var i = 0; i < clean.length; i++) {
      var idx = alphabet.indexOf(clean[i]);
      if (idx < 0) { throw new Error("not Base32"); }
      value = (value << 5) | idx; bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    if (out.length < 10) { throw new Error("secret too short"); }
    return new Uint8Array(out);
  }

  function totp(secret, now) {
    var counter = Math.floor(now / 30000);
    var msg = new Uint8Array(8);
    for (var i = 7, c = counter; i >= 0; i--) { msg[i] = c & 255; c = Math.floor(c / 256); }
    return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-1" }, false, ["sign"])
      .then(function (key) { return crypto.subtle.sign("HMAC", key, msg); })
      .then(function (sig) {
        var h = new Uint8Array(sig), o = h[19] & 15;
        var bin = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
        return String(bin % 1000000).padStart(6, "0");
      });
  }

  function parseCells(text) {
    if (!text.trim()) { return null; }
    var cells = text.split(",").map(function (s) { return Number(s.trim()); });
    var ok = cells.length === 6 && cells.every(function (c, i) {
      return Number.isInteger(c) && c >= 0 && c < 25 && cells.indexOf(c) === i;
    });
    if (!ok) { throw new Error("bingo cells: six distinct numbers from 0 to 24"); }
    return cells;
  }

  function randomDigit() {
    var b = new Uint8Array(1);
    do { crypto.getRandomValues(b); } while (b[0] >= 250);
    return b[0] % 10;
  }

  function render(code, cells) {
    $("code").dataset.code = code;
    var table = $("bingo-grid");
    if (!cells) { $("code").textContent = code; table.hidden = true; return; }
    $("code").textContent = "";
    var digits = [];
    for (var i = 0; i < 25; i++) { digits.push(randomDigit()); }
    cells.forEach(function (c, i) { digits[c] = Number(code[i]); });
    table.textContent = "";
    for (var r = 0; r < 5; r++) {
      var tr = document.createElement("tr");
      for (var k = 0; k < 5; k++) {
        var td = document.createElement("td");
        td.setAttribute("data-bingo-cell", String(r * 5 + k));
        td.textContent = String(digits[r * 5 + k]);
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    table.hidden = false;
  }

  var last = null;
  function tick() {
    var saved = JSON.parse(localStorage.getItem(KEY) || "null");
    if (!saved) { $("display").hidden = true; return; }
    var now = Date.now(), step = Math.floor(now / 30000);
    $("remaining").textContent = (30 - Math.floor(now / 1000) % 30) + " s";
    if (step === last) { return; }
    last = step;
    var secret;
    try { secret = base32(saved.secret); } catch (e) { $("error").textContent = e.message; $("error").hidden = false; return; }
    totp(secret, now).then(function (code) {
      render(code, saved.cells);
      $("display").hidden = false;
    }, function (e) { $("error").textContent = String(e); $("error").hidden = false; });
  }

  $("setup").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("error").hidden = true;
    try {
      base32($("secret").value);
      var cells = parseCells($("bingo").value);
      localStorage.setItem(KEY, JSON.stringify({ secret: $("secret").value, cells: cells }));
      last = null; tick();
    } catch (e) { $("error").textContent = e.message; $("error").hidden = false; }
  });
  $("forget").addEventListener("click", function () { localStorage.removeItem(KEY); last = null; tick(); });
  // The portal's bingo page links here with `#secret=BASE32` (a fragment never reaches a
  // server): prefill the key, then drop it from the address bar and the history.
  var fromLink = /(?:^#|&)secret=([A-Za-z2-7]+)/.exec(location.hash);
  if (fromLink) {
    $("secret").value = fromLink[1];
    history.replaceState(null, "", location.pathname);
  }
  tick();
  setInterval(tick, 1000);
})();
