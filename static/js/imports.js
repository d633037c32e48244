// Live progress of an import: bytes, records, records/s and ETA, without reloading.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box) return;
  const bar = document.getElementById("import-bar");
  const status = document.getElementById("import-status");
  const figures = document.getElementById("import-figures");
  const fmt = (n) => (n == null ? "–" : Math.round(n).toLocaleString());
  const poll = () => {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((job) => {
        bar.value = job.percent;
        status.textContent = job.status;
        let text = fmt(job.records_processed) + " records · " +
          fmt(job.bytes_processed / 1048576) + " of " + fmt(job.size_bytes / 1048576) + " MiB";
        if (job.records_per_second) text += " · " + fmt(job.records_per_second) + " records/s";
        if (job.eta_seconds != null) text += " · about " + fmt(job.eta_seconds) + " s left";
        figures.textContent = text;
        if (job.status === "queued" || job.status === "running") {
          setTimeout(poll, 1000);
        } else {
          const cancel = document.getElementById("cancel-form");
          if (cancel) cancel.remove();
          if (job.report) window.location.reload();
        }
      })
      .catch(() => setTimeout(poll, 5000));
  };
  if (status.textContent === "queued" || status.textContent === "running") poll();
})();
