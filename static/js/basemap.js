/* Base map for portal pages: our own vector layers (district boundaries, roads, zones), since no
 * internet tile server is reachable from a bureau network. A deployment with a tile service sets
 * MAP_TILE_URL and it is drawn underneath. Usage:
 *   const map = await FleetMap.create("map", {layersUrl, tileUrl, focusDistrict, extra: [geojson]})
 */
(function () {
  "use strict";
  const ROAD_STYLE = {
    expressway: {color: "#d9822b", weight: 4},
    national: {color: "#e3a34a", weight: 3},
    arterial: {color: "#8a8f98", weight: 2},
    secondary: {color: "#a7acb4", weight: 1.5},
    local: {color: "#c5c9cf", weight: 1},
  };
  const ZONE_STYLE = {
    hazmat_restricted: {color: "#c0392b", fillOpacity: 0.15},
    school: {color: "#8e44ad", fillOpacity: 0.12},
    depot: {color: "#2c7a7b", fillOpacity: 0.12},
    transport_hub: {color: "#2b6cb0", fillOpacity: 0.12},
    speed_limit: {color: "#b7791f", fillOpacity: 0.1},
    bus_stop: {color: "#2f855a", fillOpacity: 0.2},
  };

  async function create(elementId, options) {
    const map = L.map(elementId, {zoomSnap: 0.5});
    if (options.tileUrl) {
      L.tileLayer(options.tileUrl, {maxZoom: 19}).addTo(map);
    }
    const response = await fetch(options.layersUrl, {credentials: "same-origin"});
    const layers = await response.json();
    const districts = L.geoJSON(layers.districts, {
      style: (f) => ({
        color: "#2b6cb0", weight: f.properties.mine ? 2 : 1, fillColor: "#dbeafe",
        fillOpacity: f.properties.code === options.focusDistrict ? 0.7
          : (f.properties.mine ? 0.45 : 0.15),
      }),
    }).addTo(map);
    for (const f of layers.districts.features) {
      L.tooltip({permanent: true, direction: "center", className: "district-label"})
        .setLatLng(f.properties.label).setContent(f.properties.name).addTo(map);
    }
    const roads = L.geoJSON(layers.roads, {
      style: (f) => ROAD_STYLE[f.properties.road_class] || ROAD_STYLE.local,
      onEachFeature: (f, layer) =>
        layer.bindTooltip(`${f.properties.name} · ${f.properties.speed_limit_kmh} km/h`),
    }).addTo(map);
    const zones = L.geoJSON(layers.zones, {
      style: (f) => Object.assign({weight: 1}, ZONE_STYLE[f.properties.kind] || {}),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, {radius: 3}),
      onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name),
    });
    const overlays = {};
    overlays[options.labels?.roads || "Roads"] = roads;
    overlays[options.labels?.zones || "Zones"] = zones;
    L.control.layers(null, overlays, {collapsed: false}).addTo(map);
    L.control.scale({imperial: false}).addTo(map);

    let bounds = districts.getBounds();
    for (const extra of options.extra || []) {
      const layer = L.geoJSON(extra.geojson, extra.style || {}).addTo(map);
      if (extra.fit && layer.getBounds().isValid()) bounds = layer.getBounds();
    }
    const own = layers.districts.features.filter((f) => f.properties.mine);
    if (own.length && own.length < layers.districts.features.length) {
      bounds = L.geoJSON({type: "FeatureCollection", features: own}).getBounds();
    }
    if (options.focusDistrict) {
      districts.eachLayer((layer) => {
        if (layer.feature.properties.code === options.focusDistrict && !options.extra?.some((e) => e.fit)) {
          bounds = layer.getBounds();
        }
      });
    }
    if (bounds.isValid()) map.fitBounds(bounds, {padding: [12, 12]});
    else map.setView(options.center || [41.12, 122.07], 10);
    return map;
  }

  window.FleetMap = {create};
})();
