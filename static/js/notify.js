/* The header bell: the user's own notifications pushed over a websocket (/ws/notify/). Each
 * push updates the unread count (the server sends the exact figure, so every open tab agrees),
 * shows a small toast, and re-fetches any panel of the page that asked for it
 * (data-refresh-on="<kind> …", data-refresh-url). Check-posts (查岗) must be noticed within
 * seconds: their toast stays until closed and the tab title shows the count.
 *
 * Also drives countdowns: [data-countdown="<ISO time>"] with data-left / data-over texts
 * ("剩余 %s" / "已超时 %s"), ticking every second.
 *
 * Markup: templates/compliance/desk/_bell.html (included in the header by base.html). */
(function () {
  "use strict";
  const TOAST_MS = 8000;
  const URGENT = new Set(["checkpost_sent"]);
  const RECONNECT_MS = 3000;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach((node) => {
      const left = (new Date(node.dataset.countdown).getTime() - now) / 1000;
      const over = left < 0;
      node.textContent = (over ? node.dataset.over : node.dataset.left)
        .replace("%s", clock(Math.abs(left)));
      node.classList.toggle("over", over);
    });
  }

  function refreshPanels(kind) {
    document.querySelectorAll("[data-refresh-on]").forEach((panel) => {
      if (!panel.dataset.refreshOn.split(" ").includes(kind)) return;
      fetch(panel.dataset.refreshUrl, {credentials: "same-origin"})
        .then((response) => (response.ok ? response.text() : null))
        .then((html) => {
          if (html === null) return;
          // Keep what the user was typing in a form that is still there after the refresh.
          const key = (input) => `${input.closest("[id]")?.id}/${input.name}`;
          const typed = new Map();
          panel.querySelectorAll("form input[name]:not([type=hidden])").forEach((input) => {
            typed.set(key(input), input.value);
          });
          panel.innerHTML = html;
          panel.querySelectorAll("form input[name]:not([type=hidden])").forEach((input) => {
            if (typed.has(key(input))) input.value = typed.get(key(input));
          });
          tick();
        })
        .catch(() => {});
    });
  }

  function start(bell) {
    const count = bell.querySelector("[data-notify-count]");
    const baseTitle = document.title;
    let area = null;

    function showCount(unread) {
      count.textContent = unread > 99 ? "99+" : String(unread);
      count.hidden = unread === 0;
      bell.dataset.unread = String(unread);
      document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
      bell.classList.remove("bump");
      void bell.offsetWidth; // restart the animation
      bell.classList.add("bump");
    }

    function toast(notification) {
      if (!area) {
        area = element("div", "toasts");
        area.setAttribute("aria-live", "polite");
        document.body.append(area);
      }
      const urgent = URGENT.has(notification.kind);
      const box = element("div", urgent ? "toast urgent" : "toast");
      box.setAttribute("role", urgent ? "alert" : "status");
      box.dataset.kind = notification.kind;
      box.dataset.testid = "toast";
      const link = element("a", "", notification.title);
      link.href = bell.dataset.openUrl.replace("/0/", `/${notification.id}/`);
      const when = new Date(notification.created_at).toLocaleTimeString("zh-CN", {hour12: false});
      const family = notification.kind.split("_")[0];
      const label = bell.dataset[`label${family.charAt(0).toUpperCase()}${family.slice(1)}`]
        || bell.dataset.labelCase;
      const meta = element("div", "toast-kind", `${label} · ${when}`);
      const close = element("button", "toast-close", "×");
      close.type = "button";
      close.title = bell.dataset.closeText;
      close.addEventListener("click", () => box.remove());
      box.append(meta, link, close);
      area.prepend(box);
      if (!urgent) setTimeout(() => box.remove(), TOAST_MS);
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${bell.dataset.socket}`);
      socket.onopen = () => bell.classList.add("live");
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type !== "notification") return;
        showCount(message.unread);
        toast(message.notification);
        refreshPanels(message.notification.kind);
        document.dispatchEvent(new CustomEvent("fleet:notification", {detail: message}));
      };
      socket.onclose = (event) => {
        bell.classList.remove("live");
        if (event.code === 4401) return; // signed out: nothing to listen to
        setTimeout(connect, RECONNECT_MS);
      };
    }

    const unread = Number(bell.dataset.unread || 0);
    if (unread) document.title = `(${unread}) ${baseTitle}`;
    connect();
  }

  function startAll() {
    const bell = document.querySelector("[data-notify-bell]");
    if (bell) start(bell);
    tick();
    setInterval(tick, 1000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
