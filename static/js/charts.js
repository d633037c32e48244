// Line charts with uPlot (vendored). Each element with data-chart="<json_script id>"
// gets a chart of {days: ["YYYY-MM-DD"...], series: [{label, values}], unit}.
(function () {
  "use strict";
  const palette = ["#0f766e", "#b54708", "#6941c6", "#c11574", "#175cd3", "#4d7c0f"];
  document.querySelectorAll("[data-chart]").forEach((element) => {
    const source = document.getElementById(element.dataset.chart);
    if (!source || typeof uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    const xs = data.days.map((day) => Date.parse(day + "T12:00:00Z") / 1000);
    const width = Math.max(element.clientWidth, 280);
    const height = element.classList.contains("small") ? 140 : 260;
    const options = {
      width: width,
      height: height,
      series: [{}].concat(
        data.series.map((series, index) => ({
          label: series.label,
          stroke: palette[index % palette.length],
          width: 2,
          spanGaps: false,
          points: { show: xs.length < 60 },
        }))
      ),
      axes: [{}, { label: data.unit, size: 60 }],
      legend: { show: data.series.length > 1 },
      scales: { x: { time: true } },
    };
    const plot = new uPlot(options, [xs].concat(data.series.map((s) => s.values)), element);
    window.addEventListener("resize", () => {
      plot.setSize({ width: Math.max(element.clientWidth, 280), height: height });
    });
  });
})();
