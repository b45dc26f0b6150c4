// Runs the bank's check (3-D Secure) on a purchase, then posts the form. The
// server reads the outcome back from Stripe, so the form carries nothing else.
(function () {
  "use strict";
  var form = document.getElementById("authenticate-form");
  if (!form || typeof Stripe === "undefined") return;
  var secret = form.getAttribute("data-client-secret");
  if (!secret) return;

  var stripe = Stripe(form.getAttribute("data-publishable-key"));
  var errors = document.getElementById("authenticate-errors");
  var button = document.getElementById("authenticate-submit");
  var running = false;

  function authenticate() {
    if (running) return;
    running = true;
    button.disabled = true;
    errors.textContent = "";
    stripe.confirmCardPayment(secret).then(function (result) {
      // Passed or failed, the intent has an outcome for the server to settle.
      if (result.paymentIntent || (result.error && result.error.payment_intent)) {
        form.submit();
        return;
      }
      // The check never started (a network error, say): posting would only
      // bring this page back, so let the person retry instead of looping.
      errors.textContent =
        "Your bank's check could not start. Try again, or go back to billing.";
      running = false;
      button.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    authenticate();
  });
  authenticate();
})();
