// The order page's substitution forms: the same product lookup as the order entry form
// (orders:product-lookup), showing each candidate's price and availability. Progressive: the
// form works without it.
(function () {
  "use strict";
  var script = document.getElementById("substitute-lookup-js");
  var lookupUrl = script.getAttribute("data-lookup");
  var datalist = document.getElementById("sku-options");
  var cache = {};

  function fetchProducts(term) {
    return fetch(lookupUrl + "?q=" + encodeURIComponent(term), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) {
        data.results.forEach(function (p) { cache[p.sku.toUpperCase()] = p; });
        return data.results;
      });
  }

  function wire(form) {
    var input = form.querySelector("input[name='sku']");
    var info = form.querySelector(".substitute-info");
    function show() {
      var sku = (input.value || "").trim().toUpperCase();
      if (!sku) { info.textContent = "type a SKU to see its price and availability"; return; }
      var render = function () {
        var p = cache[sku];
        info.textContent = p ? p.name + " at " + p.unit_price + " " + p.currency + " each, " +
                               p.available + " available"
                             : "unknown SKU";
      };
      if (cache[sku]) { render(); } else { fetchProducts(sku).then(render); }
    }
    input.addEventListener("input", function () {
      var term = input.value.trim();
      if (term.length >= 2) {
        fetchProducts(term).then(function (results) {
          datalist.innerHTML = "";
          results.forEach(function (p) {
            var o = document.createElement("option");
            o.value = p.sku;
            o.label = p.name + " · " + p.unit_price + " " + p.currency + " · " + p.available + " available";
            datalist.appendChild(o);
          });
        });
      }
    });
    input.addEventListener("change", show);
  }

  document.querySelectorAll("form.substitute").forEach(wire);
})();
