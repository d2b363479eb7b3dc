// MathJax 3 configuration for pymdownx.arithmatex (generic mode). MathJax itself
// is served from this site (assets/mathjax/, copied from the pinned
// django-static-mathjax wheel by hooks/serve_mathjax.py): no CDN.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  chtml: {
    fontURL: document.currentScript.src.replace(/javascripts\/mathjax-config\.js.*$/, "mathjax/output/chtml/fonts/woff-v2"),
  },
};
