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
