// Settings sections: after htmx re-renders a section, the button that was pressed is
// gone and focus would fall back to the page's start. Move it to the outcome (the error
// or the confirmation) so a keyboard or screen-reader user continues from there.
"use strict";

document.addEventListener("htmx:afterSwap", (event) => {
  const section = event.detail.target;
  if (!section || section.id !== "section") return;
  const outcome = section.querySelector(".error, .notice");
  (outcome || section).focus();
});
