/*
 * Click-to-zoom for the figures (no library, no third-party host).
 *
 * Each figure image gets wrapped in a <button>, so it is focusable and opens with a click,
 * Enter or Space. It opens in a modal <dialog> that shows the same image as large as the
 * window allows, and never smaller than its natural size (1:1, the SVG's own width): on a
 * phone the figure is wider than the screen and its box pans in both directions (finger,
 * scroll bars, or the arrow keys once it has focus), the close button staying in place.
 * A click or tap (not a pan) or Esc closes it, and focus goes back to the figure.
 * The labels follow the page's language (<html lang>). Browsers without <dialog> keep
 * the plain figures. Loaded with "defer". Styles: the "Figure zoom" block in assets/extra.css.
 */
(function () {
  "use strict";

  if (typeof HTMLDialogElement !== "function") return;

  var zh = /^zh\b/i.test(document.documentElement.lang);
  var TEXT = zh
    ? { hint: "（点击放大）", close: "关闭", dialog: "放大的图" }
    : { hint: " (click to enlarge)", close: "Close", dialog: "Enlarged figure" };

  var dialog = null;
  var pan = null;
  var large = null;
  var opener = null;

  function createDialog() {
    dialog = document.createElement("dialog");
    dialog.className = "wnz-zoom";
    dialog.setAttribute("aria-label", TEXT.dialog);

    var close = document.createElement("button");
    close.type = "button";
    close.className = "wnz-zoom__close";
    close.setAttribute("aria-label", TEXT.close);
    close.textContent = "\u00d7";

    pan = document.createElement("div");
    pan.className = "wnz-zoom__pan";
    pan.tabIndex = 0;  // the arrow keys pan it once focused (Tab from the close button)

    large = document.createElement("img");
    large.className = "wnz-zoom__image";
    // The CSS sizes the figure from its natural width and shape, known once it loads.
    large.addEventListener("load", function () {
      large.style.setProperty("--wnz-width", large.naturalWidth + "px");
      large.style.setProperty("--wnz-ratio", String(large.naturalWidth / large.naturalHeight));
    });

    pan.append(large);
    dialog.append(close, pan);
    // Any click inside the open dialog closes it: the image, the backdrop
    // (a click there targets the dialog itself) or the close button.
    dialog.addEventListener("click", function () { dialog.close(); });
    // Esc fires "cancel" and then "close"; both ways end here.
    dialog.addEventListener("close", function () {
      large.removeAttribute("src");
      large.removeAttribute("style");
      if (opener) opener.focus();
      opener = null;
    });
    document.body.appendChild(dialog);
  }

  function open(button) {
    var image = button.querySelector("img");
    if (!dialog || !dialog.isConnected) createDialog();
    large.src = image.currentSrc || image.src;
    large.alt = image.alt;
    opener = button;
    dialog.showModal();  // moves focus into the dialog (the close button)
    pan.scrollTo(0, 0);  // each figure from its top left corner
  }

  function enhance(root) {
    root.querySelectorAll(".md-typeset figure img").forEach(function (image) {
      if (image.closest("a, button")) return;  // already a link, or already wrapped
      var button = document.createElement("button");
      button.type = "button";
      button.className = "wnz-zoom-open";
      var hint = document.createElement("span");
      hint.className = "wnz-visually-hidden";
      hint.textContent = TEXT.hint;  // the accessible name is the alt text plus this hint
      image.replaceWith(button);
      button.append(image, hint);
      button.addEventListener("click", function () { open(button); });
    });
  }

  // Material's document$ emits on every page load (also with instant loading, which
  // this site does not use); without it, the DOM is already parsed here (deferred).
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(function () { enhance(document); });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
