/*
 * A cue that a box scrolls sideways (issue 16 item 4): a table, a display formula or a code
 * block wider than the column fades out at each edge where more of it is hidden, so a reader
 * on a phone sees that the last columns exist. The box gets the classes wnz-more-left /
 * wnz-more-right (styles: the "Scroll cue" block in assets/extra.css), updated when it is
 * scrolled or changes size (a collapsed block opened, the phone turned); one that overflows
 * is made focusable, so it can be scrolled with the keyboard. No library. Loaded with "defer".
 */
(function () {
  "use strict";

  var SELECTOR = ".md-typeset .md-typeset__scrollwrap, .md-typeset div.arithmatex, .md-typeset pre > code";

  function update(box) {
    var hidden = box.scrollWidth - box.clientWidth;
    var left = hidden > 1 && box.scrollLeft > 1;
    var right = hidden > 1 && box.scrollLeft < hidden - 1;
    box.classList.toggle("wnz-more-left", left);
    box.classList.toggle("wnz-more-right", right);
    if (hidden > 1 && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
  }

  // The box and what it holds are both watched: the content grows without the box changing
  // size when a font arrives late (the math font) and the table is laid out again.
  var resized = typeof ResizeObserver === "function"
    ? new ResizeObserver(function (entries) {
      entries.forEach(function (e) { update(e.target.closest(SELECTOR) || e.target); });
    })
    : null;

  function watch(box) {
    if (box.hasAttribute("data-wnz-cue")) return;
    box.setAttribute("data-wnz-cue", "");
    update(box);
    box.addEventListener("scroll", function () { update(box); }, { passive: true });
    if (resized) {
      resized.observe(box);
      var inner = box.querySelector("table, math") || box.firstElementChild;
      if (inner) resized.observe(inner);
    }
  }

  // Material wraps each table in its scrolling box from its own script, after the page is
  // parsed: look again once it has (its document$ stream), and at "load".
  function scan() { Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), watch); }
  scan();
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(scan);
  window.addEventListener("load", scan);
  window.addEventListener("resize", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-wnz-cue]"), update);
  });
})();
