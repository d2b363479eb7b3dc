/*
 * The "myths and facts" page (hooks/claims.py, which loads this script, deferred, on that
 * page only): a filter of the claims by verdict and by source, and the claim a link names
 * opened.
 *
 * Each claim is a <details class="claim"> with data-verdict, data-source and
 * data-source-name; closed it shows one line. The hook leaves an empty, hidden
 * <div class="claims-filter">; this script fills it with two groups of toggle buttons
 * (aria-pressed, one choice per group, "All" first) and a live count, and shows it.
 * Without JavaScript the box stays hidden and every claim is listed. A question's heading
 * (and its intro) hides with its last shown claim.
 *
 * A URL whose #anchor is a claim (or inside one) opens that claim, on load and when the
 * hash changes, clearing the filter first if it hid the claim (or the question linked). After a search result
 * (Material's search.highlight marks the words found), the claims whose line holds a
 * mark open. Labels follow the page's language (<html lang>); the verdict labels are the
 * badges'. Styles: assets/myths.css.
 */
(function () {
  "use strict";

  var claims = Array.prototype.slice.call(document.querySelectorAll("details.claim"));
  if (!claims.length) return;

  var zh = /^zh\b/i.test(document.documentElement.lang);
  var TEXT = zh
    ? { filter: "筛选说法", verdict: "结论", source: "出处", all: "全部",
        count: function (n, total) { return "显示 " + n + " / " + total + " 条说法"; } }
    : { filter: "Filter the claims", verdict: "Verdict", source: "Source", all: "All",
        count: function (n, total) { return n + " of " + total + " claims shown"; } };
  var VERDICTS = ["correct", "partly", "misleading", "wrong"];  // the order of the buttons

  var chosen = { verdict: "", source: "" };  // "" is "All"
  var buttons = { verdict: [], source: [] };
  var counter = null;

  // The questions: a heading, what follows it up to its first claim, and its claims.
  var groups = [];
  var group = null;
  for (var el = claims[0].parentElement.firstElementChild; el; el = el.nextElementSibling) {
    if (el.tagName === "H2") {
      group = { parts: [el], claims: [] };
      groups.push(group);
    } else if (group && el.matches("details.claim")) {
      group.claims.push(el);
    } else if (group && !group.claims.length) {
      group.parts.push(el);
    }
  }
  groups = groups.filter(function (g) { return g.claims.length; });

  function apply() {
    var shown = 0;
    claims.forEach(function (claim) {
      var show = (!chosen.verdict || claim.dataset.verdict === chosen.verdict) &&
                 (!chosen.source || claim.dataset.source === chosen.source);
      claim.hidden = !show;
      if (show) shown += 1;
    });
    groups.forEach(function (g) {
      var empty = g.claims.every(function (c) { return c.hidden; });
      g.parts.forEach(function (p) { p.hidden = empty; });
    });
    ["verdict", "source"].forEach(function (key) {
      buttons[key].forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.dataset.value === chosen[key]));
      });
    });
    if (counter) counter.textContent = TEXT.count(shown, claims.length);
  }

  // One row of toggle buttons: "All", then each [value, label] in the order given.
  function row(key, label, values) {
    var wrap = document.createElement("div");
    wrap.className = "claims-filter__row";
    wrap.setAttribute("role", "group");
    var name = document.createElement("span");
    name.className = "claims-filter__name";
    name.id = "claims-filter-" + key;
    name.textContent = label;
    wrap.setAttribute("aria-labelledby", name.id);
    wrap.append(name);
    [["", TEXT.all]].concat(values).forEach(function (v) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "claims-filter__button" + (v[0] && key === "verdict" ? " claim-verdict-" + v[0] : "");
      b.dataset.value = v[0];
      b.textContent = v[1];
      b.addEventListener("click", function () {
        chosen[key] = v[0];
        apply();
      });
      buttons[key].push(b);
      wrap.append(b);
    });
    return wrap;
  }

  // [value, label] of each value of an attribute, in the order of first appearance.
  function values(attr, labelOf) {
    var seen = {}, out = [];
    claims.forEach(function (c) {
      var v = c.getAttribute(attr);
      if (!Object.prototype.hasOwnProperty.call(seen, v)) {
        seen[v] = true;
        out.push([v, labelOf(c)]);
      }
    });
    return out;
  }

  var box = document.querySelector(".claims-filter");
  if (box) {
    var verdicts = values("data-verdict", function (c) {
      return c.querySelector(".claim-verdict").textContent;
    }).sort(function (a, b) { return VERDICTS.indexOf(a[0]) - VERDICTS.indexOf(b[0]); });
    var sources = values("data-source", function (c) { return c.dataset.sourceName; })
      .sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; });
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", TEXT.filter);
    counter = document.createElement("p");
    counter.className = "claims-filter__count";
    counter.setAttribute("aria-live", "polite");
    box.append(row("verdict", TEXT.verdict, verdicts), row("source", TEXT.source, sources), counter);
    box.hidden = false;
    apply();
  }

  // Open the claim a URL names. A claim or a question the filter hides (a link of the
  // table of contents, say) first clears the filter.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    var claim = target.closest("details.claim");
    if (target.hidden || (claim && claim.hidden)) {
      chosen.verdict = chosen.source = "";
      apply();
      if (!claim) target.scrollIntoView();
    }
    if (!claim) return;
    claim.open = true;
    var inner = target.closest("details");
    if (inner) inner.open = true;
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // A search result: Material marks the words it found (search.highlight) in the text
  // the reader can see, the claims' summaries among it, once the search index has loaded;
  // the claims whose summary holds a mark open, once.
  if (/[?&]h=/.test(location.search)) {
    var watcher = new MutationObserver(function () {
      var marked = document.querySelectorAll("details.claim > summary mark");
      if (!marked.length) return;
      watcher.disconnect();
      marked.forEach(function (m) { m.closest("details.claim").open = true; });
    });
    watcher.observe(claims[0].parentElement, { childList: true, subtree: true });
  }
})();
