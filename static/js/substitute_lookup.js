// The order page's substitution forms: each candidate's price and availability, from the same
// lookup as the order entry form (sku_lookup.js). Progressive: the form works without it.
(function () {
  "use strict";
  var script = document.getElementById("substitute-lookup-js");
  var lookup = window.omsSkuLookup(script.getAttribute("data-lookup"));

  function wire(form) {
    var input = form.querySelector("input[name='sku']");
    var info = form.querySelector(".substitute-info");
    input.addEventListener("input", function () { lookup.suggest(input.value); });
    input.addEventListener("change", function () {
      if (!input.value.trim()) {
        info.textContent = "type a SKU to see its price and availability";
        return;
      }
      lookup.describe(input.value, function (text) { info.textContent = text; });
    });
  }

  document.querySelectorAll("form.substitute").forEach(wire);
})();
