// Sources page: live status of each connection (syncing, last/next sync, history
// progress, last problem) without reloading; reloads once when a sync run starts or ends,
// so the table of recent syncs is current.
(function () {
  "use strict";
  const root = document.getElementById("sources");
  if (!root) return;
  const cards = () => root.querySelectorAll("[data-connection-id]");
  if (!cards().length) return;
  const set = (card, selector, text) => {
    const node = card.querySelector(selector);
    if (node && node.textContent !== text) node.textContent = text;
  };
  const update = (card, item) => {
    const badge = card.querySelector(".js-status");
    const busy = item.syncing || item.queued;
    let label = item.status;
    if (item.status === "needs_reconnect") label = "needs reconnect";
    else if (item.syncing) label = "syncing now";
    else if (item.queued) label = "sync queued";
    if (badge) {
      badge.textContent = label;
      badge.classList.toggle("ok", !busy && item.status === "active");
      badge.classList.toggle("danger", !busy && item.status !== "active");
    }
    set(card, ".js-last-sync", item.last_sync || "not yet");
    set(card, ".js-next-sync", item.next_sync || "none scheduled");
    const bar = card.querySelector(".js-backfill");
    if (bar) bar.value = item.backfill_percent;
    set(card, ".js-backfill-text", item.backfill_percent >= 100 ? "complete" : item.backfill_percent + "% synced");
    const error = card.querySelector(".js-error");
    if (error) {
      error.textContent = item.last_error;
      error.hidden = !item.last_error;
    }
  };
  const poll = () => {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((body) => {
        const byId = new Map(body.connections.map((item) => [String(item.id), item]));
        let syncing = false;
        let stale = false;
        cards().forEach((card) => {
          const item = byId.get(card.dataset.connectionId);
          if (!item) { stale = true; return; }
          const wasBusy = card.dataset.syncing === "true" || card.dataset.queued === "true";
          const busy = item.syncing || item.queued;
          const latest = item.latest_run_id == null ? "" : String(item.latest_run_id);
          // A run started or ended, or a new one appeared: reload for the runs table.
          if (wasBusy !== busy || latest !== card.dataset.latestRun) stale = true;
          update(card, item);
          syncing = syncing || busy;
        });
        if (stale) { window.location.reload(); return; }
        setTimeout(poll, syncing ? 2000 : 15000);
      })
      .catch(() => setTimeout(poll, 15000));
  };
  const anySyncing = Array.from(cards()).some(
    (card) => card.dataset.syncing === "true" || card.dataset.queued === "true");
  setTimeout(poll, anySyncing ? 2000 : 15000);
})();
