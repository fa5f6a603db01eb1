// Pattern picker: clicking cells appends them to the pattern (cells may repeat). The text fields
// stay editable, so the page also works without this script and with the keyboard alone.
(function () {
  "use strict";
  var table = document.querySelector("table.picker");
  if (!table) { return; }
  var field = document.getElementById("pattern");
  var confirm = document.getElementById("pattern_confirm");
  var cells = [];
  function render() {
    var buttons = table.querySelectorAll("button[data-cell]");
    for (var i = 0; i < buttons.length; i++) {
      var b = buttons[i];
      var idx = Number(b.getAttribute("data-cell"));
      var steps = [];
      for (var j = 0; j < cells.length; j++) { if (cells[j] === idx) { steps.push(j + 1); } }
      b.textContent = steps.join(",");
      b.className = steps.length ? "on" : "";
    }
    field.value = cells.join(",");
    confirm.value = cells.join(",");
  }
  table.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-cell]");
    if (!b) { return; }
    cells.push(Number(b.getAttribute("data-cell")));
    render();
  });
  document.getElementById("clear-pattern").addEventListener("click", function () { cells = []; render(); });
  field.addEventListener("input", function () {
    cells = field.value.split(",").map(function (s) { return s.trim(); })
      .filter(function (s) { return /^\d+$/.test(s); }).map(Number);
  });
})();
