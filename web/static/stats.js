// Charts of the statistics page, drawn with ECharts (served locally) from the tables'
// own cells: each <table data-chart='{"x":0,"series":[2],...}'> names the column of the
// x axis, the columns to plot and, optionally, a column whose values become one series
// each ("group"). Rows marked class="total" are not plotted. Without JavaScript the
// tables are the whole content.
(function () {
  "use strict";

  function cellText(row, index) {
    var cell = row.cells[index];
    return cell ? cell.textContent.trim() : "";
  }

  function cellValue(row, index) {
    var cell = row.cells[index];
    var value = cell && cell.getAttribute("data-value");
    return value === null || value === undefined ? null : Number(value);
  }

  function optionFor(table, spec) {
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
      return !row.classList.contains("total");
    });
    var xs = [];
    rows.forEach(function (row) {
      var x = cellText(row, spec.x);
      if (xs.indexOf(x) < 0) { xs.push(x); }
    });
    var series = [];
    spec.series.forEach(function (column, n) {
      var name = spec.names[n];
      if (spec.group === undefined) {
        series.push({ name: name, type: spec.type, data: rows.map(function (row) { return cellValue(row, column); }) });
        return;
      }
      var groups = [];
      rows.forEach(function (row) {
        var g = cellText(row, spec.group);
        if (groups.indexOf(g) < 0) { groups.push(g); }
      });
      groups.forEach(function (g) {
        var data = xs.map(function (x) {
          var total = null;
          rows.forEach(function (row) {
            if (cellText(row, spec.x) === x && cellText(row, spec.group) === g) {
              total = (total || 0) + (cellValue(row, column) || 0);
            }
          });
          return total;
        });
        series.push({ name: g + " · " + name, type: spec.type, stack: name, data: data });
      });
    });
    return {
      // Drawn on the canvas: the HTML tooltip carries inline style attributes, which the
      // pages' style policy refuses (web/core/security_headers.py).
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 56, right: 16, top: 40, bottom: 32 },
      xAxis: { type: "category", data: xs },
      yAxis: { type: "value", name: spec.unit || "" },
      series: series
    };
  }

  function draw() {
    if (!window.echarts) { return; }
    document.querySelectorAll(".stats-chart[data-for]").forEach(function (box) {
      var table = document.getElementById(box.getAttribute("data-for"));
      if (!table || !table.getAttribute("data-chart")) { return; }
      var chart = window.echarts.init(box, null, { renderer: "canvas" });
      chart.setOption(optionFor(table, JSON.parse(table.getAttribute("data-chart"))));
      window.addEventListener("resize", function () { chart.resize(); });
      box.classList.add("drawn");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
