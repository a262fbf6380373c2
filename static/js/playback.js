/* Track playback on the vehicle page: the track on the map, a time slider moving a marker,
 * a speed chart (SVG) with the slider position, and the terminal events marked on both. */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  function speedChart(svg, points, events) {
    svg.innerHTML = "";
    if (points.length < 2) return () => {};
    const w = svg.clientWidth || 600, h = svg.clientHeight || 120, pad = 24;
    const t0 = Date.parse(points[0].t), t1 = Date.parse(points[points.length - 1].t);
    const maxSpeed = Math.max(60, ...points.map((p) => p.speed));
    const x = (t) => pad + (Date.parse(t) - t0) / Math.max(1, t1 - t0) * (w - 2 * pad);
    const y = (s) => h - pad - s / maxSpeed * (h - 2 * pad);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", points.map((p, i) => `${i ? "L" : "M"}${x(p.t)},${y(p.speed)}`).join(""));
    path.setAttribute("class", "speed-line");
    svg.appendChild(path);
    for (const [value, label] of [[0, "0"], [maxSpeed, `${Math.round(maxSpeed)} km/h`]]) {
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("x", 2); text.setAttribute("y", y(value) + 4); text.textContent = label;
      svg.appendChild(text);
    }
    for (const e of events) {
      const tick = document.createElementNS(SVG, "line");
      tick.setAttribute("x1", x(e.t)); tick.setAttribute("x2", x(e.t));
      tick.setAttribute("y1", pad / 2); tick.setAttribute("y2", h - pad);
      tick.setAttribute("class", "event-tick");
      svg.appendChild(tick);
    }
    const cursor = document.createElementNS(SVG, "line");
    cursor.setAttribute("class", "cursor"); cursor.setAttribute("y1", 0); cursor.setAttribute("y2", h);
    svg.appendChild(cursor);
    return (t) => { cursor.setAttribute("x1", x(t)); cursor.setAttribute("x2", x(t)); };
  }

  function start(config) {
    const form = document.getElementById("playback-form");
    const slider = document.getElementById("playback-slider");
    const readout = document.getElementById("playback-readout");
    const svg = document.getElementById("speed-chart");
    const playButton = document.getElementById("playback-play");
    let layers = null, points = [], moveCursor = () => {}, marker = null, timer = null;

    function show(index) {
      const p = points[index];
      if (!p) return;
      marker.setLatLng([p.lat, p.lon]);
      moveCursor(p.t);
      readout.textContent = `${new Date(p.t).toLocaleString("zh-CN")} · ${p.speed} km/h`;
    }

    async function load() {
      const params = new URLSearchParams(new FormData(form));
      const response = await fetch(`${config.trackUrl}?${params}`, {credentials: "same-origin"});
      const data = await response.json();
      if (!response.ok) { readout.textContent = data.error; return; }
      points = data.points;
      if (layers) layers.remove();
      layers = L.layerGroup().addTo(config.map);
      slider.max = Math.max(0, points.length - 1); slider.value = 0;
      slider.disabled = playButton.disabled = points.length === 0;
      document.getElementById("playback-count").textContent =
        config.labels.count.replace("%s", points.length);
      if (!points.length) { readout.textContent = config.labels.empty; svg.innerHTML = ""; return; }
      const line = L.polyline(points.map((p) => [p.lat, p.lon]), {color: "#2b6cb0", weight: 3})
        .addTo(layers);
      for (const e of data.events) {
        const near = points.reduce((best, p) =>
          Math.abs(Date.parse(p.t) - Date.parse(e.t)) < Math.abs(Date.parse(best.t) - Date.parse(e.t)) ? p : best);
        L.circleMarker([near.lat, near.lon], {radius: 6, color: "#c53030", fillOpacity: 0.9})
          .bindTooltip(`${e.kind} ${e.code}`).addTo(layers);
      }
      marker = L.circleMarker([points[0].lat, points[0].lon],
        {radius: 8, color: "#1a202c", fillColor: "#f6e05e", fillOpacity: 1}).addTo(layers);
      config.map.fitBounds(line.getBounds(), {padding: [20, 20]});
      moveCursor = speedChart(svg, points, data.events);
      show(0);
    }

    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    slider.addEventListener("input", () => show(Number(slider.value)));
    playButton.addEventListener("click", () => {
      if (timer) { clearInterval(timer); timer = null; playButton.textContent = config.labels.play; return; }
      playButton.textContent = config.labels.pause;
      timer = setInterval(() => {
        if (Number(slider.value) >= points.length - 1) { clearInterval(timer); timer = null;
          playButton.textContent = config.labels.play; return; }
        slider.value = Number(slider.value) + 1; show(Number(slider.value));
      }, 120);
    });
    load();
  }

  window.FleetPlayback = {start};
})();
