/* The search page (search/index.html), around Pagefind's component UI: the result template
   (a briefing with the quotes found in it), the other shards' bundles merged into the main one,
   the query in the address (?q=), and a notice where search cannot run (file://). */
(function () {
  "use strict";
  // Loaded before pagefind-component-ui.js, so <pagefind-results> finds this template when it starts.
  var results = document.querySelector("pagefind-results");
  if (results && !results.querySelector('script[type="text/pagefind-template"]')) {
    var template = document.createElement("script");
    template.type = "text/pagefind-template";
    // Briefings are at briefings/<slug>/index.html, actors at actors/<id>/index.html. A quote is a
    // sub-result of its briefing: its title is "Speaker:" (or "Speaker to Someone:"), its excerpt
    // "Speaker: “words”"; when the excerpt starts later in a long quote, the speaker is shown before it.
    var plain = 'replace(replace(sub.excerpt, "<mark>", ""), "</mark>", "")';
    template.textContent =
      '<li class="pf-result"><div class="pf-result-card"><div class="pf-result-content">' +
      '<p class="search-result-type">' +
      '{{#if ne(replace(url, "/actors/", ""), url)}}Actor{{:else}}Briefing{{/if}}' +
      "</p>" +
      '<p class="pf-result-title"><a class="pf-result-link" href="{{ meta.url | default(url) | safeUrl }}">{{ meta.title }}</a></p>' +
      '{{#if meta.about}}<p class="search-result-about">{{ meta.about }}</p>{{/if}}' +
      '{{#if excerpt}}<p class="pf-result-excerpt">{{+ excerpt +}}</p>{{/if}}' +
      "</div></div>" +
      // Below the card, as Pagefind's own template puts sub-results: the card's link covers the card.
      '{{#if sub_results}}<ul class="search-quotes">{{#each sub_results as sub}}' +
      '<li class="search-quote"><a class="search-quote-link" href="{{ sub.url | safeUrl }}">' +
      "{{#if eq(replace(" + plain + ", sub.title, \"\"), " + plain + ")}}" +
      '<span class="search-quote-who">{{ sub.title }}</span> \u2026{{/if}}' +
      '<span class="search-quote-text">{{+ sub.excerpt +}}</span></a></li>' +
      "{{/each}}</ul>{{/if}}" +
      "</li>";
    results.appendChild(template);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (location.protocol === "file:") {
      var notice = document.getElementById("search-needs-server");
      if (notice) notice.hidden = false;
    }
    document.addEventListener("briefkit:search-unavailable", function () {
      var broken = document.getElementById("search-unavailable");
      var alert = document.getElementById("search-alert");
      if (!broken || !alert || !broken.hidden) return;
      alert.appendChild(broken);  // into the live region: announced
      broken.hidden = false;
      ["pagefind-summary", "pagefind-results", "#search-more"].forEach(function (selector) {
        var element = document.querySelector(selector);
        if (element) element.hidden = true;  // "Searching..." would stay for ever
      });
    });
    var components = window.PagefindComponents;
    if (!components) return;
    var instance = components.getInstanceManager().getInstance("default");
    // A large site's index is in shards: the main bundle (next to pagefind-component-ui.js) and
    // these, searched as one. Pagefind reads the list when it first loads (on focus or search).
    var page = document.querySelector("[data-merge-bundles]");
    if (page) {
      // search-pagefind.js merges the shards in parallel (the component merges one at a time).
      instance.options.bundlePath = new URL(page.getAttribute("data-bundle-path"), location.href).pathname;
      instance.options.mergeIndex = page.getAttribute("data-merge-bundles").split(/\s+/)
        .filter(Boolean).map(function (folder) { return { bundlePath: new URL(folder, location.href).pathname }; });
    }
    var query = (new URLSearchParams(location.search).get("q") || "").trim();
    if (query) instance.triggerSearch(query);
    // <pagefind-results max-results> lists the best results only: say so, and how to narrow them.
    var listed = document.querySelector("pagefind-results[max-results]");
    var more = document.getElementById("search-more");
    if (listed && more) {
      var most = parseInt(listed.getAttribute("max-results"), 10);
      instance.on("results", function (found) {
        var count = found && found.results ? found.results.length : 0;
        // A live region (role=status), always there: empty, it shows nothing.
        more.textContent = most > 0 && count > most ? "These are the best " + most + " of " +
          count.toLocaleString("en") + " results. Add a word, or choose a filter, to narrow them." : "";
      });
    }
    // Keep ?q= in step with the search, so a reload or the back button shows the same results.
    instance.on("search", function (term) {
      var url = new URL(location.href);
      if (term) url.searchParams.set("q", term); else url.searchParams.delete("q");
      history.replaceState(history.state, "", url.href);
    });
  });
})();
