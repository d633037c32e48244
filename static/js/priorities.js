// Priorities: drag-and-drop reordering (the Up/Down buttons do the same without
// JavaScript), and live progress of a recomputation.
(function () {
  "use strict";
  const list = document.getElementById("source-order");
  if (list) {
    let dragged = null;
    list.addEventListener("dragstart", (event) => {
      dragged = event.target.closest("li");
      if (!dragged) return;
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.id);
    });
    list.addEventListener("dragend", () => {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      refreshButtons();
    });
    list.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      const over = event.target.closest("li");
      if (!over || over === dragged) return;
      const box = over.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", (event) => event.preventDefault());
    function refreshButtons() {
      const items = Array.from(list.querySelectorAll("li"));
      items.forEach((item, index) => {
        item.querySelector("button[value$=':up']").disabled = index === 0;
        item.querySelector("button[value$=':down']").disabled = index === items.length - 1;
      });
    }
  }

  document.querySelectorAll("[data-run-url]").forEach((element) => {
    const bar = element.querySelector("progress");
    const label = element.querySelector(".run-percent");
    const poll = () => {
      fetch(element.dataset.runUrl, { credentials: "same-origin" })
        .then((response) => response.json())
        .then((run) => {
          bar.value = run.percent;
          label.textContent = run.status === "succeeded" ? "done" : run.percent + "%";
          if (run.status === "queued" || run.status === "running") {
            setTimeout(poll, 1000);
          }
        })
        .catch(() => setTimeout(poll, 5000));
    };
    poll();
  });
})();
