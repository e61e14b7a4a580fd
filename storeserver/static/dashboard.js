// The dashboard's charts: plotly.js over the figures the page carries (cents -> euro).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  for (const el of document.querySelectorAll(".chart")) {
    const key = el.id.replace("chart-", "");
    const rows = data[key] || [];
    const labels = rows.map((r) => r[0]);
    const euros = rows.map((r) => r[1] / 100);
    const trace = el.dataset.kind === "pie"
      ? { type: "pie", labels: labels, values: euros, hole: 0.4, textinfo: "label+percent" }
      : { type: "bar", x: labels, y: euros, marker: { color: "#2a6f97" } };
    const layout = {
      title: { text: el.dataset.title },
      margin: { t: 40, r: 10, b: 40, l: 50 },
      yaxis: { title: { text: "EUR" } },
      showlegend: false,
      height: 300,
    };
    Plotly.newPlot(el, [trace], layout, { displayModeBar: false, responsive: true, staticPlot: false })
      .then(() => el.setAttribute("data-rendered", String(rows.length)));
  }
})();
