/* newsmon analyst page: draws the charts (uPlot, vendored) from the JSON beside them.
   Pages read fully without this script; it only adds the charts. No inline script: the
   page's Content-Security-Policy allows scripts from this server only. */
(function () {
  "use strict";

  function utc(ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); }

  var LABELS = { hour: function (d) { return iso(d) + " " + pad(d.getUTCHours()) + ":00"; },
                 day: iso, week: function (d) { return "week of " + iso(d); },
                 month: function (d) { return d.toLocaleString("en", { month: "long", year: "numeric", timeZone: "UTC" }); } };

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* An axis label in UTC: the time when it is not midnight, else the day; January 1st the year. */
  function tick(ts) {
    var d = new Date(ts * 1e3), day = d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
    if (d.getUTCHours() || d.getUTCMinutes()) { return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); }
    if (d.getUTCDate() === 1 && d.getUTCMonth() === 0) { return String(d.getUTCFullYear()); }
    return d.getUTCDate() === 1 ? MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() : day;
  }
  function iso(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }

  /* The value under the cursor, written below the chart (uPlot's own legend is off). */
  function readout(u, data, box) {
    var out = box.parentNode.querySelector(".readout");
    var i = u.cursor.idx;
    if (!out) { return; }
    if (i == null) { out.textContent = out.getAttribute("data-idle") || ""; return; }
    var when = new Date(data.x[i] * 1e3);
    out.textContent = (LABELS[data.period] || iso)(when) + " UTC: " + data.y[i].toLocaleString() + " " + data.label;
  }

  function draw(box) {
    var source = document.getElementById(box.getAttribute("data-chart"));
    if (!source || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    if (!data.x.length) { return; }
    var style = getComputedStyle(box);
    var stroke = style.getPropertyValue("--chart-stroke").trim() || "#2f6fb0";
    var fill = style.getPropertyValue("--chart-fill").trim() || "rgba(47,111,176,0.35)";
    var series = { label: data.label, stroke: stroke, fill: fill, width: 1.5,
                   value: function (u, v) { return v == null ? "" : v.toLocaleString(); } };
    if (data.bars) {
      series.paths = uPlot.paths.bars({ size: [0.85, 60], align: 0 });
      series.points = { show: false };
    } else {  /* a running total: it steps when an article arrives */
      series.paths = uPlot.paths.stepped({ align: 1 });
    }
    var opts = {
      width: Math.max(box.clientWidth, 300),
      height: 200,
      tzDate: utc,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      hooks: { setCursor: [function (u) { readout(u, data, box); }] },
      scales: { x: { time: true }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.1)]; } } },
      axes: [{ space: 90, values: function (u, splits) { return splits.map(tick); } }, { size: 50 }],
      series: [{ label: "UTC", value: "{YYYY}-{MM}-{DD} {HH}:{mm}" }, series],
    };
    box.classList.add("drawn");
    var plot = new uPlot(opts, [data.x, data.y], box);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(box.clientWidth, 300), height: 200 });
    });
  }

  function ready() {
    var boxes = document.querySelectorAll(".chart[data-chart]");
    for (var i = 0; i < boxes.length; i++) {
      try { draw(boxes[i]); } catch (e) { boxes[i].setAttribute("data-error", String(e)); }
    }
    document.body.setAttribute("data-ready", "1");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else { ready(); }
})();
