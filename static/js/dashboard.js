/* The dashboard's figures, refreshed from figures.json every REFRESH_MS without reloading the
 * page (the map and the alert feed are live on their own websockets). Markup:
 * templates/compliance/dashboard/_figures.html and _districts.html; every number carries
 * data-dash="<key>", district rows data-dash-row="<district id>". When the bureau's day
 * changes (midnight in Asia/Shanghai) the page reloads, so its "today" links follow. */
(function () {
  "use strict";
  const REFRESH_MS = 45_000;
  // As the server prints them (Django's intcomma): grouped in English, plain in Chinese.
  const english = document.documentElement.lang === "en";
  const numbers = new Intl.NumberFormat(english ? "en" : "zh-CN", {useGrouping: english});

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)}%`;
  }

  function show(node, key, value) {
    if (key === "online_rate" || key === "validity" || key === "completeness") {
      node.textContent = percent(value);
      if (node.dataset.dashFloor) {
        node.classList.toggle("dash-low", value !== null && value < Number(node.dataset.dashFloor));
      }
    } else {
      node.textContent = value === null || value === undefined ? "—" : numbers.format(value);
    }
    if (node.dataset.dashFlag) node.classList.toggle(`dash-${node.dataset.dashFlag}`, value > 0);
  }

  function fill(scope, values) {
    for (const node of scope.querySelectorAll("[data-dash]")) {
      if (node.dataset.dash in values) show(node, node.dataset.dash, values[node.dataset.dash]);
    }
  }

  function chip(href, label, figure, total) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = href;
    link.textContent = label;
    const count = document.createElement("b");
    count.textContent = numbers.format(figure);
    item.append(link, " ", count);
    if (total !== undefined) {
      const all = document.createElement("span");
      all.className = "muted";
      all.textContent = `/${numbers.format(total)}`;
      item.append(all);
    }
    return item;
  }

  function update(root, data) {
    const figures = root.querySelector("[data-dash-figures]") || root;
    fill(figures, data.figures);
    for (const card of figures.querySelectorAll("[data-dash-flag-of]")) {
      card.classList.toggle(`dash-${card.dataset.dashFlag}`, data.figures[card.dataset.dashFlagOf] > 0);
    }
    const kinds = root.querySelector("[data-dash-kinds]");
    if (kinds) {
      const base = kinds.querySelector("a")?.getAttribute("href")?.split("?")[0];
      if (base) {
        kinds.replaceChildren(...data.kinds.map((k) =>
          chip(`${base}?kind=${encodeURIComponent(k.kind)}`, k.label, k.online, k.total)));
      }
    }
    const rules = root.querySelector("[data-dash-rules]");
    if (rules && data.top_rules.length) {
      rules.replaceChildren(...data.top_rules.map((r) =>
        chip(rules.dataset.ruleUrl + encodeURIComponent(r.rule), r.label, r.count)));
    }
    for (const row of root.querySelectorAll("[data-dash-row]")) {
      const values = data.districts[row.dataset.dashRow];
      if (values) fill(row, values);
    }
  }

  function start() {
    const figures = document.querySelector("[data-dash-figures]");
    if (!figures) return;
    const stamp = document.querySelector("[data-dash-updated]");
    const clock = new Intl.DateTimeFormat("zh-CN", {hour: "2-digit", minute: "2-digit",
      second: "2-digit", hour12: false});
    async function refresh() {
      try {
        const response = await fetch(figures.dataset.url, {credentials: "same-origin",
          headers: {Accept: "application/json"}});
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        if (data.day !== figures.dataset.day) { location.reload(); return; }
        update(document, data);
        if (stamp) stamp.textContent = `${stamp.dataset.label || ""}${clock.format(new Date())}`;
        figures.classList.remove("dash-stale");
      } catch (error) {
        figures.classList.add("dash-stale");  // keep the last figures, marked as old
      }
    }
    window.FleetDashboard = {refresh};
    setInterval(refresh, REFRESH_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
