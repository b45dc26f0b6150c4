// Collects a card into a Stripe SetupIntent, then posts only the intent's id.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") return;

  var stripe = Stripe(form.getAttribute("data-publishable-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");

  var MESSAGES = {
    card_declined: "Your card was declined. Try another card or ask your bank why.",
    expired_card: "This card has expired. Use a card that is still valid.",
    incorrect_cvc: "The security code (CVC) is wrong. Check it and try again.",
    invalid_expiry_year: "The expiry year is not valid. Check the card's date.",
    setup_intent_authentication_failure:
      "Your bank's authentication check failed. Try again or use another card."
  };

  function explain(error) {
    if (error && MESSAGES[error.code]) return MESSAGES[error.code];
    if (error && /authenticat/i.test(error.message || "")) {
      return MESSAGES.setup_intent_authentication_failure;
    }
    return "The card could not be added. Check the details or try another card.";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.textContent = "";
    button.disabled = true;
    stripe.confirmCardSetup(form.getAttribute("data-client-secret"), {
      payment_method: { card: card }
    }).then(function (result) {
      if (result.error) {
        errors.textContent = explain(result.error) + " Nothing was saved.";
        button.disabled = false;
        return;
      }
      form.submit();
    });
  });
})();
