// The payment page: Stripe.js draws the card field and turns the card into a PaymentMethod (its id alone is sent
// to the portal). The card form is sent from the page: when the bank asks for 3-D Secure, the challenge runs on
// this same page with the client secret the portal answers, then the portal asks Stripe how it ended (the page
// it names). Without this script the form posts as usual and the challenge gets a page of its own.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (form && typeof Stripe !== "undefined") {
    var stripe = Stripe(form.dataset.key);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var errors = document.getElementById("card-errors");
    var button = document.getElementById("card-pay");
    var method = document.getElementById("payment-method");
    var again = function (message) {
      errors.textContent = message || "";
      button.disabled = false;
    };
    var paymentMethod = function () {
      if (method.value) { return Promise.resolve(method.value); }
      return Promise.resolve(stripe.createPaymentMethod({type: "card", card: card})).then(function (result) {
        if (result && result.paymentMethod) { return result.paymentMethod.id; }
        throw new Error((result && result.error && result.error.message) || "");
      });
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.disabled) { return; }
      button.disabled = true;  // one click, one payment (the portal's idempotency key covers the rest)
      errors.textContent = "";
      paymentMethod().then(function (id) {
        method.value = id;
        if (!window.fetch) { form.submit(); return null; }
        return fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                                   headers: {"Accept": "application/json"}}).then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") === -1) { throw new Error(""); }
          return response.json();
        }).then(function (answer) {
          if (answer.error !== undefined && !answer.next) { method.value = ""; again(answer.error); return; }
          var next = function () { window.location.assign(answer.next); };
          if (answer.client_secret) {
            return Promise.resolve(stripe.confirmCardPayment(answer.client_secret)).then(next, next);
          }
          next();
        }, function () {
          // no answer the page can read: let the portal answer the form itself (the same attempt, same key)
          form.submit();
        });
      }, function (error) { again(error.message); });
    });
  }
  var challenge = document.getElementById("authenticate");
  if (challenge && typeof Stripe !== "undefined") {
    Stripe(challenge.dataset.key).confirmCardPayment(challenge.dataset.clientSecret).then(function () {
      window.location.assign(challenge.dataset.return);
    });
  }
})();
