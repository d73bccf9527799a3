// The purchase order form: SKU lookup of what the chosen supplier sells (its cost and what is
// available now), through sku_lookup.js, and "Add a line". Progressive: the form works without it.
(function () {
  "use strict";
  var script = document.getElementById("po-entry-js");
  var template = script.getAttribute("data-lookup");  // .../suppliers/SUPPLIER/products/lookup/
  var supplier = document.getElementById("id_supplier");
  var lookup = null;

  function current() {
    if (!supplier.value) { lookup = null; return; }
    lookup = window.omsSkuLookup(template.replace("SUPPLIER", encodeURIComponent(supplier.value)));
  }

  function show(row) {
    var input = row.querySelector("input[name$='-sku']");
    var cell = row.querySelector(".avail");
    if (!(input.value || "").trim()) { cell.textContent = ""; return; }
    if (!lookup) { cell.textContent = "Choose the supplier first"; return; }
    lookup.describe(input.value, function (text) {
      cell.textContent = text === "Unknown SKU" ? "Not sold by this supplier" : text;
    });
  }

  function wire(row) {
    var input = row.querySelector("input[name$='-sku']");
    if (!input) return;
    input.addEventListener("input", function () { if (lookup) lookup.suggest(input.value); });
    input.addEventListener("change", function () { show(row); });
  }

  function rows() { return document.querySelectorAll("#lines tr.line"); }

  current();
  rows().forEach(function (row) { wire(row); show(row); });
  supplier.addEventListener("change", function () { current(); rows().forEach(show); });

  document.getElementById("add-line").addEventListener("click", function () {
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    var index = parseInt(total.value, 10);
    var all = rows();
    var clone = all[all.length - 1].cloneNode(true);
    clone.querySelectorAll("input").forEach(function (el) {
      el.name = el.name.replace(/lines-\d+-/, "lines-" + index + "-");
      el.id = el.id.replace(/lines-\d+-/, "lines-" + index + "-");
      el.value = "";
    });
    clone.querySelectorAll(".errorlist").forEach(function (el) { el.remove(); });
    clone.querySelector(".avail").textContent = "";
    all[all.length - 1].parentNode.appendChild(clone);
    total.value = index + 1;
    wire(clone);
  });
})();
