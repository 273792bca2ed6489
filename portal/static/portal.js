// Progressive enhancement only: every form works without it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var form = select.form;
    var fallback = form.querySelector("[data-autosubmit-fallback]");
    if (fallback) { fallback.classList.add("sr-only"); }
    select.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); });
  });
});
