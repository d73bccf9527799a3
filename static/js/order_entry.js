// SKU lookup with live availability on the order entry form. Progressive: the form works without it.
(function () {
  "use strict";
  var script = document.getElementById("order-entry-js");
  var lookup = window.omsSkuLookup(script.getAttribute("data-lookup"));  // sku_lookup.js

  function showAvailability(row) {
    var input = row.querySelector("input[name$='-sku']");
    var cell = row.querySelector(".avail");
    if (!(input.value || "").trim()) { cell.textContent = ""; return; }
    lookup.describe(input.value, function (text) { cell.textContent = text; });
  }

  function wire(row) {
    var input = row.querySelector("input[name$='-sku']");
    if (!input) return;
    input.addEventListener("input", function () { lookup.suggest(input.value); });
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
