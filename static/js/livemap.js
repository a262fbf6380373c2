/* Live map: the initial snapshot over HTTP, then updates over the websocket. Markers are drawn
 * on one canvas; below CLUSTER_BELOW_ZOOM nearby vehicles are merged into counted circles so
 * the whole fleet stays readable and fast.
 *
 * config.mapId (default "map") names the map element; the counts ([data-count]), the status
 * ([data-live-status]) and the filters ([data-filter]) are looked up inside config.root
 * (default: the document) and are optional, so a page can embed just the map (dashboard). */
(function () {
  "use strict";
  const KIND_COLOURS = {
    taxi: "#d69e2e", ride_hailing: "#319795", bus: "#38a169", coach: "#3182ce",
    hazmat: "#e53e3e", heavy_truck: "#805ad5",
  };
  const OFFLINE = "#a0aec0";
  const CLUSTER_BELOW_ZOOM = 13;
  const CELL_PX = 64;

  function start(config) {
    const vehicles = new Map();
    const filters = {kind: "", district: "", enterprise: "", plate: ""};
    let map, layer, renderer, redrawTimer = null;
    const root = config.root || document;
    const status = root.querySelector("[data-live-status]");

    function visible(v) {
      return (!filters.kind || v.kind === filters.kind)
        && (!filters.district || String(v.district) === filters.district)
        && (!filters.enterprise || String(v.enterprise) === filters.enterprise)
        && (!filters.plate || v.plate.includes(filters.plate));
    }

    function colour(v) { return v.online ? (KIND_COLOURS[v.kind] || "#4a5568") : OFFLINE; }

    function popup(v) {
      const state = v.online ? config.labels.online : config.labels.offline;
      return `<b>${v.plate}</b><br>${config.kindLabels[v.kind] || v.kind} · ${state}` +
        `<br>${v.speed} km/h · ${new Date(v.time).toLocaleString("zh-CN")}` +
        `<br><a href="${config.vehicleUrl.replace("0", v.id)}">${config.labels.details}</a>`;
    }

    function redraw() {
      redrawTimer = null;
      layer.clearLayers();
      const shown = [...vehicles.values()].filter(visible);
      const counts = {online: 0, offline: 0, alarm: 0};
      for (const v of shown) {
        counts[v.online ? "online" : "offline"] += 1;
        if (v.alarm) counts.alarm += 1;
      }
      for (const key of Object.keys(counts)) {
        const shownCount = root.querySelector(`[data-count=${key}]`);
        if (shownCount) shownCount.textContent = counts[key];
      }
      const bounds = map.getBounds().pad(0.2);
      const inView = shown.filter((v) => bounds.contains([v.lat, v.lon]));
      if (map.getZoom() < CLUSTER_BELOW_ZOOM && !filters.plate) {
        const cells = new Map();
        for (const v of inView) {
          const p = map.latLngToLayerPoint([v.lat, v.lon]);
          const key = `${Math.floor(p.x / CELL_PX)}:${Math.floor(p.y / CELL_PX)}`;
          const cell = cells.get(key) || {n: 0, lat: 0, lon: 0, alarm: 0};
          cell.n += 1; cell.lat += v.lat; cell.lon += v.lon; cell.alarm += v.alarm ? 1 : 0;
          cells.set(key, cell);
        }
        for (const cell of cells.values()) {
          const centre = [cell.lat / cell.n, cell.lon / cell.n];
          const radius = 9 + Math.min(12, Math.log2(cell.n) * 2);
          L.circleMarker(centre, {renderer, radius, weight: cell.alarm ? 2.5 : 1,
            color: cell.alarm ? "#c53030" : "#fff", fillColor: "#2b6cb0", fillOpacity: 0.8})
            .bindTooltip(String(cell.n), {permanent: true, direction: "center",
              className: "cluster-label"})
            .on("click", () => map.setView(centre, Math.min(map.getZoom() + 2, 16)))
            .addTo(layer);
        }
      } else {
        for (const v of inView) {
          L.circleMarker([v.lat, v.lon], {renderer, radius: 5, weight: v.alarm ? 3 : 1,
            color: v.alarm ? "#c53030" : "#fff", fillColor: colour(v), fillOpacity: 0.95})
            .bindPopup(() => popup(v)).addTo(layer);
        }
      }
      if (status) status.dataset.shown = String(inView.length);
    }

    function scheduleRedraw() {
      if (redrawTimer === null) redrawTimer = setTimeout(redraw, 250);
    }

    function apply(list) {
      for (const v of list) vehicles.set(v.id, Object.assign(vehicles.get(v.id) || {}, v));
      scheduleRedraw();
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${config.socketPath}`);
      socket.onopen = () => {
        if (status) { status.textContent = config.labels.connected; status.className = "live-ok"; }
      };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "vehicles") apply(message.vehicles);
      };
      socket.onclose = () => {
        if (status) { status.textContent = config.labels.reconnecting; status.className = "live-bad"; }
        setTimeout(connect, 3000);
      };
    }

    FleetMap.create(config.mapId || "map", config.mapOptions).then(async (created) => {
      map = created;
      renderer = L.canvas({padding: 0.3});
      layer = L.layerGroup().addTo(map);
      map.on("moveend zoomend", scheduleRedraw);
      const response = await fetch(config.snapshotUrl, {credentials: "same-origin"});
      apply((await response.json()).vehicles);
      redraw();
      connect();
    });

    for (const name of Object.keys(filters)) {
      const input = root.querySelector(`[data-filter=${name}]`);
      if (!input) continue;
      input.addEventListener("input", () => {
        filters[name] = name === "plate" ? input.value.trim().toUpperCase() : input.value;
        scheduleRedraw();
      });
    }
    window.FleetLive = {vehicles, redraw};
  }

  window.FleetLiveMap = {start};
})();
