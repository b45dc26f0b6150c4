// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Remember the browser's time zone so that the server shows local times.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("portal_tz=" + zone) === -1) {
      document.cookie = "portal_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* older browsers: times stay in UTC */ }

  // Copy buttons: <button data-copy-target="id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Picking a date in the usage filters means a custom range:
  // <input data-sets-range="custom"> in a form with a "range" select.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var value = input.getAttribute && input.getAttribute("data-sets-range");
    var range = value && input.form && input.form.elements.namedItem("range");
    if (range && input.value) range.value = value;
  });

  // Forms that ask for confirmation: <form data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
