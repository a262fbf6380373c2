/* The live alert feed: the newest violations of the user's scope, pushed over a websocket
 * (/ws/alerts/) and shown newest first. Filters apply in the browser; an optional short beep
 * (WebAudio, off by default) marks each new alert that passes them.
 *
 * Markup: templates/compliance/violations/_alert_feed.html, initial data in a json_script
 * element named by the feed's data-source. Every [data-alert-feed] on a page is started. */
(function () {
  "use strict";
  const KEEP_FULL = 200;
  const KEEP_COMPACT = 10;
  const BEEP_GAP_MS = 1000;

  let audio = null;
  let lastBeep = 0;

  function beep() {
    const now = Date.now();
    if (!audio || now - lastBeep < BEEP_GAP_MS) return;
    lastBeep = now;
    const start = audio.currentTime;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "sine";
    tone.frequency.setValueAtTime(880, start);
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.25);
    tone.connect(gain).connect(audio.destination);
    tone.start(start);
    tone.stop(start + 0.3);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function start(root) {
    const data = JSON.parse(document.getElementById(root.dataset.source).textContent);
    const compact = root.classList.contains("compact");
    const keep = compact ? KEEP_COMPACT : Math.max(KEEP_FULL, data.limit);
    const list = root.querySelector("[data-alert-list]");
    const empty = root.querySelector("[data-alert-empty]");
    const shown = root.querySelector("[data-alert-shown]");
    const status = root.querySelector("[data-alert-status]");
    const sound = root.querySelector("[data-alert-sound]");
    const alerts = new Map();
    const filters = {rule: "", severity: "", district: ""};
    const clock = new Intl.DateTimeFormat("zh-CN", {
      timeZone: data.timeZone, month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hour12: false});

    function matches(alert) {
      return (!filters.rule || alert.rule === filters.rule)
        && (!filters.severity || alert.severity === filters.severity)
        && (!filters.district || String(alert.district.id) === filters.district);
    }

    function statusTag(alert) {
      return element("span", `tag review-${alert.review_status}`,
        data.statuses[alert.review_status] || alert.review_status);
    }

    function render(alert) {
      const item = element("li", `alert sev-${alert.severity}`);
      item.dataset.alertId = alert.id;
      const time = element("time", "alert-time mono", clock.format(new Date(alert.started_at)));
      time.dateTime = alert.started_at;
      const link = element("a", "alert-rule", data.rules[alert.rule] || alert.rule_label);
      link.href = alert.url;
      const where = [data.kinds[alert.vehicle_kind] || alert.vehicle_kind, alert.district.name,
        alert.enterprise].filter(Boolean).join(" · ");
      item.append(time, element("span", `tag sev-${alert.severity}`,
        data.severities[alert.severity] || alert.severity), link,
      element("span", "plate", alert.plate), element("span", "alert-where muted", where),
      statusTag(alert));
      item.hidden = !matches(alert);
      return item;
    }

    function refreshCounts() {
      const visible = [...alerts.values()].filter((a) => matches(a.data)).length;
      empty.hidden = visible > 0;
      if (shown) shown.textContent = data.texts.shown.replace("%s", visible);
    }

    function add(alert, fresh) {
      if (alerts.has(alert.id)) return;
      const item = render(alert);
      if (fresh) {
        item.classList.add("fresh");
        list.prepend(item);
        if (sound && sound.checked && matches(alert)) beep();
      } else {
        list.append(item);
      }
      alerts.set(alert.id, {data: alert, item});
      while (alerts.size > keep) {
        const last = list.lastElementChild;
        alerts.delete(Number(last.dataset.alertId));
        last.remove();
      }
      refreshCounts();
    }

    function reviewed(change) {
      const entry = alerts.get(change.id);
      if (!entry) return;
      entry.data.review_status = change.review_status;
      entry.item.querySelector("[class^='tag review-']").replaceWith(statusTag(entry.data));
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${data.socketPath}`);
      socket.onopen = () => { status.textContent = data.texts.connected; status.className = "live-ok"; };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "violation") add(message.violation, true);
        else if (message.type === "reviewed") reviewed(message.violation);
      };
      socket.onclose = (event) => {
        status.className = "live-bad";
        if (event.code === 4401 || event.code === 4403) {
          status.textContent = data.texts.refused;
          return;
        }
        status.textContent = data.texts.reconnecting;
        setTimeout(connect, 3000);
      };
    }

    for (const select of root.querySelectorAll("[data-alert-filter]")) {
      select.addEventListener("change", () => {
        filters[select.dataset.alertFilter] = select.value;
        for (const entry of alerts.values()) entry.item.hidden = !matches(entry.data);
        refreshCounts();
      });
    }
    if (sound) {
      sound.addEventListener("change", () => {
        // Browsers only allow audio after a gesture: this click is it.
        if (!sound.checked) return;
        const Context = window.AudioContext || window.webkitAudioContext;
        if (!Context) { sound.checked = false; sound.disabled = true; return; }
        audio = audio || new Context();
        audio.resume().then(() => { lastBeep = 0; beep(); });
      });
    }

    for (const alert of data.alerts) add(alert, false);
    refreshCounts();
    connect();
    return {root, alerts, filters};
  }

  const feeds = [];
  window.FleetAlerts = {feeds};
  function startAll() {
    document.querySelectorAll("[data-alert-feed]").forEach((root) => feeds.push(start(root)));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
