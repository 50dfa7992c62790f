/* The search page (search/index.html), around Pagefind's component UI: the result template,
   the query in the address (?q=), and a notice where search cannot run (file://). */
(function () {
  "use strict";
  // Loaded before pagefind-component-ui.js, so <pagefind-results> finds this template when it starts.
  var results = document.querySelector("pagefind-results");
  if (results && !results.querySelector('script[type="text/pagefind-template"]')) {
    var template = document.createElement("script");
    template.type = "text/pagefind-template";
    // The record type shows in the URL: briefings/<slug>/index.html[#quote-<key>], actors/<id>/index.html.
    template.textContent =
      '<li class="pf-result"><div class="pf-result-card"><div class="pf-result-content">' +
      '<p class="search-result-type">' +
      '{{#if ne(replace(url, "#quote-", ""), url)}}Quote{{:else if ne(replace(url, "/actors/", ""), url)}}Actor{{:else}}Briefing{{/if}}' +
      "</p>" +
      '<p class="pf-result-title"><a class="pf-result-link" href="{{ meta.url | default(url) | safeUrl }}">{{ meta.title }}</a></p>' +
      '{{#if meta.about}}<p class="search-result-about">{{ meta.about }}</p>{{/if}}' +
      '{{#if excerpt}}<p class="pf-result-excerpt">{{+ excerpt +}}</p>{{/if}}' +
      "</div></div></li>";
    results.appendChild(template);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (location.protocol === "file:") {
      var notice = document.getElementById("search-needs-server");
      if (notice) notice.hidden = false;
    }
    var components = window.PagefindComponents;
    if (!components) return;
    var instance = components.getInstanceManager().getInstance("default");
    var query = (new URLSearchParams(location.search).get("q") || "").trim();
    if (query) instance.triggerSearch(query);
    // Keep ?q= in step with the search, so a reload or the back button shows the same results.
    instance.on("search", function (term) {
      var url = new URL(location.href);
      if (term) url.searchParams.set("q", term); else url.searchParams.delete("q");
      history.replaceState(history.state, "", url.href);
    });
  });
})();
