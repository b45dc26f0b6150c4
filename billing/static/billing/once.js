// Forms marked data-once submit once: a double click buys credits once.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
    form.setAttribute("data-submitted", "1");
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  });
})();
