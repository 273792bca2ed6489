// The payment page: Stripe.js draws the card field and turns the card into a PaymentMethod (its id alone is sent
// to the portal); a 3-D Secure challenge is run with the client secret, then the portal asks Stripe how it ended.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (form && typeof Stripe !== "undefined") {
    var stripe = Stripe(form.dataset.key);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var errors = document.getElementById("card-errors");
    var button = document.getElementById("card-pay");
    form.addEventListener("submit", function (event) {
      if (document.getElementById("payment-method").value) { return; }
      event.preventDefault();
      button.disabled = true;  // one click, one payment (the portal's idempotency key covers the rest)
      Promise.resolve(stripe.createPaymentMethod({type: "card", card: card})).then(function (result) {
        if (result && result.paymentMethod) {
          document.getElementById("payment-method").value = result.paymentMethod.id;
          form.submit();
        } else {
          errors.textContent = (result && result.error && result.error.message) || "";
          button.disabled = false;
        }
      });
    });
  }
  var challenge = document.getElementById("authenticate");
  if (challenge && typeof Stripe !== "undefined") {
    Stripe(challenge.dataset.key).confirmCardPayment(challenge.dataset.clientSecret).then(function () {
      window.location.assign(challenge.dataset.return);
    });
  }
})();
