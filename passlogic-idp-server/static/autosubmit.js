// Posts the page's form as soon as it loads (protocol responses: OIDC form_post, SAML
// HTTP-POST). Without JavaScript the user presses the form's button.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
})();
