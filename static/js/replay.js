// Replay progress: poll the run's status until it is done, then reload for the results.
(function () {
  "use strict";
  const panel = document.querySelector("[data-status-url]");
  if (!panel || panel.dataset.state === "done" || panel.dataset.state === "failed") return;
  const bar = document.getElementById("replay-progress");
  const state = document.getElementById("replay-state");
  const counts = document.getElementById("replay-counts");
  async function poll() {
    try {
      const response = await fetch(panel.dataset.statusUrl, {credentials: "same-origin"});
      const status = await response.json();
      bar.value = status.progress;
      counts.textContent = `${status.done_vehicles} / ${status.total_vehicles} · ${status.fixes}`;
      if (status.state === "done" || status.state === "failed") {
        window.location.reload();
        return;
      }
      state.textContent = status.state;
    } catch (error) {
      state.textContent = String(error);
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
