// The product lookup (orders:product-lookup) shared by the order entry form and the order
// page's substitution forms: fetches candidates, keeps them by upper-case SKU (SKUs match in
// any case), fills the page's <datalist id="sku-options">, and says what a typed SKU is.
window.omsSkuLookup = function (lookupUrl) {
  "use strict";
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

  function describe(p) {
    return p.name + " · " + p.unit_price + " " + p.currency + " · " + p.available + " available";
  }

  return {
    // Suggestions for what is being typed (two characters or more).
    suggest: function (text) {
      var term = (text || "").trim();
      if (term.length < 2) return;
      fetchProducts(term).then(function (results) {
        datalist.innerHTML = "";
        results.forEach(function (p) {
          var o = document.createElement("option");
          o.value = p.sku;
          o.label = describe(p);
          datalist.appendChild(o);
        });
      });
    },
    // Calls show(text) with the product's name, price and availability, or "Unknown SKU".
    describe: function (text, show) {
      var sku = (text || "").trim().toUpperCase();
      var render = function () { show(cache[sku] ? describe(cache[sku]) : "Unknown SKU"); };
      if (cache[sku]) { render(); } else { fetchProducts(sku).then(render); }
    }
  };
};
