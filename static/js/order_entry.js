// SKU lookup with live availability on the order entry form. Progressive: the form works without it.
(function () {
  "use strict";
  var script = document.getElementById("order-entry-js");
  var lookupUrl = script.getAttribute("data-lookup");
  var datalist = document.getElementById("sku-options");
  var cache = {};

  function fetchProducts(term) {
    return fetch(lookupUrl + "?q=" + encodeURIComponent(term), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) {
        data.results.forEach(function (p) { cache[p.sku] = p; });
        return data.results;
      });
  }

  function showAvailability(row) {
    var input = row.querySelector("input[name$='-sku']");
    var cell = row.querySelector(".avail");
    var sku = (input.value || "").trim();
    if (!sku) { cell.textContent = ""; return; }
    var render = function () {
      var p = cache[sku];
      cell.textContent = p ? p.name + " · " + p.unit_price + " " + p.currency + " · " + p.available + " available"
                           : "Unknown SKU";
    };
    if (cache[sku]) { render(); } else { fetchProducts(sku).then(render); }
  }

  function wire(row) {
    var input = row.querySelector("input[name$='-sku']");
    if (!input) return;
    input.addEventListener("input", function () {
      var term = input.value.trim();
      if (term.length >= 2) {
        fetchProducts(term).then(function (results) {
          datalist.innerHTML = "";
          results.forEach(function (p) {
            var o = document.createElement("option");
            o.value = p.sku;
            o.label = p.name + " (" + p.available + " available)";
            datalist.appendChild(o);
          });
        });
      }
    });
    input.addEventListener("change", function () { showAvailability(row); });
    if (input.value) showAvailability(row);
  }

  document.querySelectorAll("#lines tr.line").forEach(wire);

  document.getElementById("add-line").addEventListener("click", function () {
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    var index = parseInt(total.value, 10);
    var rows = document.querySelectorAll("#lines tr.line");
    var clone = rows[rows.length - 1].cloneNode(true);
    clone.querySelectorAll("input").forEach(function (el) {
      el.name = el.name.replace(/lines-\d+-/, "lines-" + index + "-");
      el.id = el.id.replace(/lines-\d+-/, "lines-" + index + "-");
      el.value = el.name.endsWith("quantity") ? "1" : "";
    });
    clone.querySelectorAll(".errorlist").forEach(function (el) { el.remove(); });
    clone.querySelector(".avail").textContent = "";
    rows[rows.length - 1].parentNode.appendChild(clone);
    total.value = index + 1;
    wire(clone);
  });
})();
