// What the pages need beyond htmx, in a file of its own so that the
// Content-Security-Policy can refuse inline script and eval.

// An element with data-hold-while="selector" skips its own requests while
// something inside it matches: the images table does not refresh itself
// while a row or group inside polls its update, which the swap would cut
// short. (An hx-trigger filter would need eval.)
document.addEventListener("htmx:beforeRequest", (e) => {
  const el = e.detail.elt;
  const sel = el.getAttribute && el.getAttribute("data-hold-while");
  if (sel && el.querySelector(sel)) e.preventDefault();
});

// A row menu closes once one of its items asks for something: the answer
// lands elsewhere (a panel, the row), and an open menu would cover it. Not
// for a delete confirmation, which stays to be corrected after a wrong name,
// nor for the menu's own summary, which loads the items as it opens.
document.addEventListener("htmx:beforeRequest", (e) => {
  const el = e.detail.elt;
  if (el.matches && el.matches("details.row-menu > summary")) return;
  const menu = el.closest && !el.closest("details.delete-confirm") && el.closest("details.row-menu");
  if (menu) menu.open = false;
});

// Times say in their tooltip when they were in the browser's own zone; the
// server renders them in UTC, as it cannot know the reader's zone.
function localTimes(root) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.dateTime);
    if (!isNaN(d)) t.title = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }
}
document.addEventListener("DOMContentLoaded", () => localTimes(document));
document.addEventListener("htmx:afterSettle", () => localTimes(document));
