// Dovecote dashboard: live lists and the overview chart. No build step, no framework
// beyond the vendored htmx (forms) and uPlot (chart).
"use strict";

// A container with data-live="/url" follows that server-sent event stream: each `row`
// event is one rendered element; one with the same id is replaced (a status change),
// otherwise it is added at the top (lists) or the bottom (data-live-insert="append",
// conversations). EventSource reconnects by itself when the server ends a stream.
function followLive(container) {
  const source = new EventSource(container.dataset.live);
  source.addEventListener("row", (event) => {
    const template = document.createElement("template");
    template.innerHTML = event.data.trim();
    const node = template.content.firstElementChild;
    if (!node) return;
    const old = node.id ? document.getElementById(node.id) : null;
    if (old) {
      old.replaceWith(node);
    } else if (container.dataset.liveInsert === "append") {
      container.append(node);
      node.scrollIntoView({ block: "nearest" });
    } else {
      container.prepend(node);
    }
    container.dataset.updates = String(Number(container.dataset.updates || 0) + 1);
  });
  // What changed between this page's render and the stream's start (or while it was
  // reconnecting) was sent to nobody: take the container's current state once, then
  // follow the stream. One page fetch per connection.
  source.addEventListener("open", async () => {
    try {
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (response.ok && container.id) {
        const html = await response.text();
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(container.id);
        if (fresh) container.innerHTML = fresh.innerHTML;
      }
    } catch (error) {
      // The stream still follows; only the gap before it stays unfilled.
    }
    container.dataset.connected = "true";
  });
}

function drawChart(element) {
  if (typeof uPlot === "undefined") return;
  const chart = JSON.parse(element.dataset.chart);
  if (!chart.series.length) return;
  const colours = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#4b5563"];
  const width = () => Math.max(280, element.clientWidth);
  const plot = new uPlot(
    {
      width: width(),
      height: 260,
      series: [{}, ...chart.series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], width: 2 }))],
      axes: [{}, { label: chart.unit || "messages" }],
    },
    [chart.x, ...chart.series.map((s) => s.values)],
    element,
  );
  window.addEventListener("resize", () => plot.setSize({ width: width(), height: 260 }));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach(followLive);
  document.querySelectorAll("[data-chart]").forEach(drawChart);
});
