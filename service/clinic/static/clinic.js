// Improvements only: every step works without this file (the print button and the letter's typed fields
// appear when it runs; without it, the browser's own Print and blank lines to fill by hand).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var printPlan = document.getElementById("print-plan");
    if (printPlan) {
      printPlan.hidden = false;
      printPlan.addEventListener("click", function () { window.print(); });
    }
    // "Add another" buttons: without JavaScript, the page answers with spare inputs after each submit.
    document.querySelectorAll("button.add-row").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var group = document.getElementById(button.dataset.addTo);
        var fields = group.querySelectorAll(":scope > .field");
        var copy = fields[fields.length - 1].cloneNode(true);
        var index = fields.length;
        copy.classList.remove("has-error");
        copy.querySelectorAll(".field-error, .candidates, .hint").forEach(function (el) { el.remove(); });
        var input = copy.querySelector("input");
        var label = copy.querySelector("label");
        input.id = button.dataset.addTo + "-" + index;
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
        label.htmlFor = input.id;
        label.textContent = button.dataset.label + " " + (index + 1);
        group.insertBefore(copy, button);
        input.focus();
      });
    });
    // The cadence select lists every therapy's own cadences, grouped; show the chosen therapy's group only.
    var drug = document.getElementById("drug");
    var cadence = document.getElementById("cadence");
    if (drug && cadence) {
      var showCadences = function () {
        cadence.querySelectorAll("optgroup").forEach(function (group) {
          var mine = group.dataset.drug.toLowerCase() === drug.value.toLowerCase();
          group.hidden = !mine;
          group.disabled = !mine;
          if (!mine && group.contains(cadence.selectedOptions[0])) { cadence.value = ""; }
        });
      };
      drug.addEventListener("change", showCadences);
      showCadences();
    }
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    var inputs = document.getElementById("letter-inputs");
    if (inputs) {
      // The traveller's details stay in this page: these inputs have no name and belong to no form, so
      // nothing typed here is ever sent; each is copied onto the letter's blank line as it is typed.
      inputs.hidden = false;
      inputs.querySelectorAll("input[data-fills]").forEach(function (input) {
        input.addEventListener("input", function () {
          document.querySelectorAll('[data-fill="' + input.dataset.fills + '"]').forEach(function (line) {
            line.textContent = input.value;
          });
        });
      });
      var printLetter = document.getElementById("print-letter");
      if (printLetter) { printLetter.addEventListener("click", function () { window.print(); }); }
    }
  });
})();
