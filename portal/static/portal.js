// Progressive enhancement only: every form works without it.
document.documentElement.classList.add("js");

// On a phone the menu folds behind its button (without the script it stays open); a group of the menu closes when
// another opens, or on a click elsewhere.
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.querySelector(".menu-toggle"), nav = document.getElementById("mainnav");
  if (toggle && nav) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
  var groups = document.querySelectorAll(".navgroup details");
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (group.open) { groups.forEach(function (other) { if (other !== group) { other.open = false; } }); }
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) { if (!group.contains(event.target)) { group.open = false; } });
  });
});

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var form = select.form;
    var fallback = form.querySelector("[data-autosubmit-fallback]");
    if (fallback) { fallback.classList.add("sr-only"); }
    select.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); });
  });
});

// A form with data-live-price="#a,#b" (the volunteer's quote) is priced as it changes: the form is posted with
// action=price (nothing is kept) and the listed parts of the page answered replace the same parts of this one.
// Without the script, its "see my price" button (data-live-price-fallback) does the same with a page load.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-live-price]").forEach(function (form) {
    if (!window.fetch || !window.DOMParser) { return; }
    var parts = form.dataset.livePrice.split(",");
    var fallback = form.querySelector("[data-live-price-fallback]");
    if (fallback) { fallback.classList.add("sr-only"); }
    var latest = 0;
    form.addEventListener("change", function () {
      var asked = ++latest;
      var data = new FormData(form);
      data.set("action", "price");
      form.setAttribute("aria-busy", "true");
      // (not form.action: the form's buttons are named "action")
      fetch(form.getAttribute("action") || window.location.href, {method: "POST", body: data, credentials: "same-origin"})
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (asked !== latest) { return; }  // a later change is on its way
          var answered = new DOMParser().parseFromString(html, "text/html");
          parts.forEach(function (selector) {
            var here = document.querySelector(selector), there = answered.querySelector(selector);
            if (here && there) { here.replaceWith(there); }
          });
        })
        .catch(function () { /* the button still prices the form */ })
        .finally(function () { if (asked === latest) { form.removeAttribute("aria-busy"); } });
    });
  });
});

// A long list of countries (the zones of activity): find one by typing (accents and case ignored), tick a whole
// region at once, see how many are chosen. Without the script, the plain list of checkboxes does it all.
document.addEventListener("DOMContentLoaded", function () {
  function fold(text) { return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  document.querySelectorAll("[data-country-picker]").forEach(function (picker) {
    var tools = picker.querySelector(".picker-tools"), search = picker.querySelector("[data-picker-search]");
    var count = picker.querySelector("[data-picker-count]"), items = picker.querySelectorAll("li[data-regions]");
    function recount() {
      var n = picker.querySelectorAll("input[type=checkbox]:checked").length;
      count.textContent = picker.dataset.countText.replace("{n}", n);
    }
    tools.hidden = false;
    search.addEventListener("input", function () {
      var wanted = fold(search.value.trim());
      items.forEach(function (item) { item.hidden = wanted !== "" && fold(item.textContent).indexOf(wanted) === -1; });
    });
    picker.querySelectorAll("[data-picker-region]").forEach(function (button) {
      button.addEventListener("click", function () {
        var region = button.dataset.pickerRegion;
        items.forEach(function (item) {
          if (item.dataset.regions.split(" ").indexOf(region) !== -1) { item.querySelector("input").checked = true; }
        });
        recount();
      });
    });
    picker.addEventListener("change", recount);
    recount();
  });
});
