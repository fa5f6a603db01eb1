// Passkeys (WebAuthn): the passkey sign-in step and /account/passkeys. A form marked
// data-passkey="create" or "get" carries the server's options (JSON, binary fields Base64url)
// in data-passkey-options; on submit this script calls navigator.credentials.create/get,
// writes the result as JSON (RegistrationResponseJSON / AuthenticationResponseJSON shapes,
// binary fields Base64url) into the hidden field `credential`, and posts the form.
(function () {
  "use strict";

  function toBytes(b64url) {
    var s = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) { return { type: c.type, id: toBytes(c.id) }; });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return o;
  }

  function extensions(cred) {
    return cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
  }

  function registrationJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        attestationObject: toB64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      },
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: extensions(cred)
    };
  }

  function authenticationJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      },
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: extensions(cred)
    };
  }

  function show(selector) {
    var el = document.querySelector(selector);
    if (el) { el.hidden = false; }
  }

  var form = document.querySelector("form[data-passkey]");
  if (!form) { return; }
  var noScript = document.querySelector("[data-passkey-no-js]");
  if (noScript) { noScript.hidden = true; }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    show("[data-passkey-unsupported]");
    return;
  }
  var mode = form.getAttribute("data-passkey");
  var button = form.querySelector("button[type=submit]");
  if (button) { button.disabled = false; }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var options = JSON.parse(form.getAttribute("data-passkey-options"));
    var pending = mode === "create"
      ? navigator.credentials.create({ publicKey: creationOptions(options) })
      : navigator.credentials.get({ publicKey: requestOptions(options) });
    if (button) { button.disabled = true; }
    pending.then(function (cred) {
      var json = mode === "create" ? registrationJSON(cred) : authenticationJSON(cred);
      form.elements.credential.value = JSON.stringify(json);
      form.submit();
    }).catch(function () {
      if (button) { button.disabled = false; }
      show("[data-passkey-browser-error]");
    });
  });
})();
